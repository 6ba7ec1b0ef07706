"""Typed event constructors change how producers write events, never what goes on the wire: each
typed event's serialized envelope payload is byte-for-byte the one the hand-built dict gave."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from services.intake import events as intake
from services.notifications import events as notifications
from services.planning import events as planning
from services.referrals import events as referrals
from shared.contracts import REGISTRY, Event
from shared.contracts.typed import TypedEvent

AT = datetime(2026, 11, 30, 3, 30, 15, 123456, tzinfo=UTC)
DAY = date(2027, 2, 27)
IDS = {"plan_id": "p-1", "client_id": "c-1", "episode_id": "e-1"}

#: (typed event, the subject and dict its producer wrote by hand before typed events)
CASES: list[tuple[TypedEvent, str, dict[str, Any]]] = [
    (
        planning.PlanCreated(
            plan_id="p-1",
            client_id="c-1",
            client_reference="C-1001",
            episode_id="e-1",
            owner_id=None,
            created_at=AT,
        ),
        "client/c-1",
        {
            "plan_id": "p-1",
            "client_id": "c-1",
            "client_reference": "C-1001",
            "episode_id": "e-1",
            "owner_id": None,
            "created_at": AT,
        },
    ),
    (
        planning.PlanApproved(
            **IDS, version=2, owner_id="cm-1", approved_at=AT, next_review_due=DAY
        ),
        "client/c-1",
        {**IDS, "version": 2, "owner_id": "cm-1", "approved_at": AT, "next_review_due": DAY},
    ),
    (
        planning.PlanReviewed(**IDS, review_id=None, version=2, reviewed_at=AT),
        "client/c-1",
        {**IDS, "review_id": None, "version": 2, "reviewed_at": AT},
    ),
    (
        planning.ReferralRequested(
            **IDS,
            client_reference="C-1001",
            goal_id="g-1",
            strategy_id="s-1",
            domain="housing",
            partner_service_id=None,
            requested_by="cm-1",
            requested_at=AT,
        ),
        "client/c-1",
        {
            **IDS,
            "client_reference": "C-1001",
            "goal_id": "g-1",
            "strategy_id": "s-1",
            "domain": "housing",
            "partner_service_id": None,
            "requested_by": "cm-1",
            "requested_at": AT,
        },
    ),
    (
        planning.PlanClosed(**IDS, reason="client discharged", closed_at=AT),
        "client/c-1",
        {**IDS, "reason": "client discharged", "closed_at": AT},
    ),
    (
        planning.GoalAchieved(**IDS, goal_id="g-1", domain="housing", achieved_at=AT),
        "client/c-1",
        {**IDS, "goal_id": "g-1", "domain": "housing", "achieved_at": AT},
    ),
    (
        planning.ReviewDue(
            review_id="r-1",
            plan_id="p-1",
            client_id="c-1",
            episode_id="e-1",
            due_on=DAY,
            case_manager_id="cm-1",
        ),
        "client/c-1",
        {
            "review_id": "r-1",
            "plan_id": "p-1",
            "client_id": "c-1",
            "episode_id": "e-1",
            "due_on": DAY,
            "case_manager_id": "cm-1",
        },
    ),
    (
        planning.ReviewScheduled(
            review_id="r-2",
            plan_id="p-1",
            client_id="c-1",
            episode_id="e-1",
            due_on=DAY,
            reason="crisis",
        ),
        "client/c-1",
        {
            "review_id": "r-2",
            "plan_id": "p-1",
            "client_id": "c-1",
            "episode_id": "e-1",
            "due_on": DAY,
            "reason": "crisis",
        },
    ),
]


REFERRAL = SimpleNamespace(
    id="r-1",
    client_id="c-1",
    client_reference="C-1001",
    organization_id="org-1",
    service_id="svc-1",
    status="requested",
    plan_id=None,
    strategy_id="s-1",
)
#: What referrals' ``_publish`` wrote by hand for every referral event, before the extras.
REFERRAL_DATA = {
    "referral_id": "r-1",
    "client_id": "c-1",
    "client_reference": "C-1001",
    "organization_id": "org-1",
    "service_id": "svc-1",
    "status": "requested",
    "plan_id": None,
    "strategy_id": "s-1",
    "at": AT,
}
CASES += [
    (referrals.ReferralCreated.of(REFERRAL, AT), "referral/r-1", REFERRAL_DATA),
    (referrals.ReferralSent.of(REFERRAL, AT), "referral/r-1", REFERRAL_DATA),
    (
        referrals.ReferralCompleted.of(REFERRAL, AT, outcome="Housed"),
        "referral/r-1",
        {**REFERRAL_DATA, "outcome": "Housed"},
    ),
    (
        referrals.ReferralRejected.of(REFERRAL, AT, reason_code="no_capacity"),
        "referral/r-1",
        {**REFERRAL_DATA, "reason_code": "no_capacity"},
    ),
    (
        referrals.ReferralFailed.of(REFERRAL, AT, reason_code="could_not_contact"),
        "referral/r-1",
        {**REFERRAL_DATA, "reason_code": "could_not_contact"},
    ),
    (
        referrals.ReferralStatusChanged.of(
            REFERRAL, AT, from_status="draft", reason_code=None, by_side="referrer"
        ),
        "referral/r-1",
        {**REFERRAL_DATA, "from_status": "draft", "reason_code": None, "by_side": "referrer"},
    ),
    (
        referrals.ReferralCancelled.of(
            REFERRAL, AT, reason_code="client_declined", by_side="partner"
        ),
        "referral/r-1",
        {**REFERRAL_DATA, "reason_code": "client_declined", "by_side": "partner"},
    ),
    (
        referrals.ReferralOverdue.of(REFERRAL, AT, sent_at=AT),
        "referral/r-1",
        {**REFERRAL_DATA, "sent_at": AT},
    ),
    (
        referrals.WebhookDisabled(
            subscription_id="w-1",
            organization_id="org-1",
            url="https://partner.example/hook",
            failed_attempts=9,
            failing_since=AT,
            disabled_at=AT,
            contact_email="it@partner.example",
        ),
        "organization/org-1",
        {
            "subscription_id": "w-1",
            "organization_id": "org-1",
            "url": "https://partner.example/hook",
            "failed_attempts": 9,
            "failing_since": AT,
            "disabled_at": AT,
            "contact_email": "it@partner.example",
        },
    ),
    (
        referrals.InboundReferralReceived(
            inbound_referral_id="i-1",
            organization_id="org-1",
            client_reference=None,
            given_name="Sam",
            family_name="Rivera",
            phone="555-0199",
            email=None,
            reason="Asked for support",
            domains=["housing"],
            related_referral_id="r-1",
            received_at=AT,
        ),
        "inbound_referral/i-1",
        {
            "inbound_referral_id": "i-1",
            "organization_id": "org-1",
            "client_reference": None,
            "given_name": "Sam",
            "family_name": "Rivera",
            "phone": "555-0199",
            "email": None,
            "reason": "Asked for support",
            "domains": ["housing"],
            "related_referral_id": "r-1",
            "received_at": AT,
        },
    ),
]

CLIENT = {
    "client_id": "c-1",
    "client_reference": "C-1001",
    "episode_id": "e-1",
    "programme": "housing-first",
}
CASES += [
    (
        intake.AssessmentCompleted(
            **CLIENT,
            assessment_id="a-1",
            version=2,
            supersedes_assessment_id="a-0",
            completed_at=AT,
            unmet_needs=["housing", "income"],
            phq9={"total": 14, "severity": "moderate"},
            gad7=None,
            cssrs_level="high",
            risk_level="high",
            case_manager_id=None,
        ),
        "client/c-1",
        {
            **CLIENT,
            "assessment_id": "a-1",
            "version": 2,
            "supersedes_assessment_id": "a-0",
            "completed_at": AT,
            "unmet_needs": ["housing", "income"],
            "phq9": {"total": 14, "severity": "moderate"},
            "gad7": None,
            "cssrs_level": "high",
            "risk_level": "high",
            "case_manager_id": None,
        },
    ),
    (
        intake.RiskFlagged(
            **CLIENT,
            flag_id="f-1",
            assessment_id="a-1",
            level="high",
            reasons=["C-SSRS Q4: intent"],
            case_manager_id="cm-1",
            supervisor_id=None,
            flagged_at=AT,
        ),
        "client/c-1",
        {
            **CLIENT,
            "flag_id": "f-1",
            "assessment_id": "a-1",
            "level": "high",
            "reasons": ["C-SSRS Q4: intent"],
            "case_manager_id": "cm-1",
            "supervisor_id": None,
            "flagged_at": AT,
        },
    ),
]
DAY_0 = date(2026, 11, 23)
CASES += [
    (
        intake.ClientRegistered(**CLIENT, registered_by="iw-1", registered_at=AT),
        "client/c-1",
        {**CLIENT, "registered_by": "iw-1", "registered_at": AT},
    ),
    (
        intake.ClientUpdated(**CLIENT, changed_fields=["contact"], updated_at=AT),
        "client/c-1",
        {**CLIENT, "changed_fields": ["contact"], "updated_at": AT},
    ),
    (
        intake.ClientDischarged(
            **CLIENT, discharged_at=AT, reason_code="goals_met", care_version=3
        ),
        "client/c-1",
        {**CLIENT, "discharged_at": AT, "reason_code": "goals_met", "care_version": 3},
    ),
    (
        intake.ClientReadmitted(**CLIENT, previous_episode_id="e-0", readmitted_at=AT),
        "client/c-1",
        {**CLIENT, "previous_episode_id": "e-0", "readmitted_at": AT},
    ),
    (
        intake.RiskResolved(
            **CLIENT, flag_id="f-1", level="high", resolved_by="cm-1", resolved_at=AT
        ),
        "client/c-1",
        {**CLIENT, "flag_id": "f-1", "level": "high", "resolved_by": "cm-1", "resolved_at": AT},
    ),
    (
        intake.CaseAssigned(
            **CLIENT,
            case_manager_id="cm-1",
            previous_case_manager_id=None,
            supervisor_id="sup-1",
            assigned_by="iw-1",
            method="explicit",
            over_cap=False,
            assigned_at=AT,
            care_version=2,
            case_manager_version=1,
        ),
        "client/c-1",
        {
            **CLIENT,
            "case_manager_id": "cm-1",
            "previous_case_manager_id": None,
            "supervisor_id": "sup-1",
            "assigned_by": "iw-1",
            "method": "explicit",
            "over_cap": False,
            "assigned_at": AT,
            "care_version": 2,
            "case_manager_version": 1,
        },
    ),
    (
        intake.ConsentGranted(
            consent_id="k-1",
            client_id="c-1",
            organization_id="housing-first",
            categories=["contact_details"],
            starts_on=DAY_0,
            expires_on=None,
        ),
        "client/c-1",
        {
            "consent_id": "k-1",
            "client_id": "c-1",
            "organization_id": "housing-first",
            "categories": ["contact_details"],
            "starts_on": DAY_0,
            "expires_on": None,
        },
    ),
    (
        intake.ConsentRevoked(
            consent_id="k-1",
            client_id="c-1",
            organization_id="housing-first",
            categories=["contact_details"],
            revoked_at=AT,
            reason="expired",
        ),
        "client/c-1",
        {
            "consent_id": "k-1",
            "client_id": "c-1",
            "organization_id": "housing-first",
            "categories": ["contact_details"],
            "revoked_at": AT,
            "reason": "expired",
        },
    ),
    (
        intake.CaseManagerUpdated(
            case_manager_id="cm-1",
            team="north",
            supervisor_id="sup-1",
            caseload_cap=50,
            active=True,
            version=4,
            updated_at=AT,
        ),
        "case_manager/cm-1",
        {
            "case_manager_id": "cm-1",
            "team": "north",
            "supervisor_id": "sup-1",
            "caseload_cap": 50,
            "active": True,
            "version": 4,
            "updated_at": AT,
        },
    ),
]

NOTE = {"notification_id": "n-1", "client_id": None, "urgency": "urgent"}
DELIVERY = {"delivery_id": "d-1", "recipient": "cm-1@agency.example", "channel": "email"}
CASES += [
    (
        notifications.NotificationDelivered(**NOTE, **DELIVERY, delivered_at=AT),
        "notification/n-1",
        {**NOTE, **DELIVERY, "delivered_at": AT},
    ),
    (
        notifications.NotificationFailed(**NOTE, **DELIVERY, attempts=5, failed_at=AT),
        "notification/n-1",
        {**NOTE, **DELIVERY, "attempts": 5, "failed_at": AT},
    ),
    (
        notifications.NotificationEscalated(
            **NOTE, level=2, escalated_to=["sup-1", "on-call@agency.example"], escalated_at=AT
        ),
        "notification/n-1",
        {
            **NOTE,
            "level": 2,
            "escalated_to": ["sup-1", "on-call@agency.example"],
            "escalated_at": AT,
        },
    ),
    (
        notifications.NotificationAcknowledged(**NOTE, acknowledged_by="cm-1", acknowledged_at=AT),
        "notification/n-1",
        {**NOTE, "acknowledged_by": "cm-1", "acknowledged_at": AT},
    ),
]


#: Crisis access and privacy governance (issue 18).
GRANT = {
    "grant_id": "g-1",
    "granted_to": "dr-night",
    "roles": ["on_call"],
    "granted_at": AT,
    "expires_at": AT,
    "case_manager_id": "cm-1",
    "supervisor_id": "sup-1",
}
ERASED = {"client_id": "c-1", "erased_at": AT, "erased": {"plans": 1}}
EXPIRED = {"client_id": "c-1", "client_reference": "C-1001", "expired_at": AT}
CASES += [
    (intake.EmergencyAccessGranted(**CLIENT, **GRANT), "client/c-1", {**CLIENT, **GRANT}),
    (intake.ClientRetentionExpired(**EXPIRED), "client/c-1", EXPIRED),
    (planning.ClientErased(**ERASED), "client/c-1", ERASED),
    (referrals.ClientErased(**ERASED), "client/c-1", ERASED),
    (notifications.ClientErased(**ERASED), "client/c-1", ERASED),
]


#: Planning's casework: who, when, how long; never the note, the place or who took part.
CASEWORK = {
    "client_id": "c-1",
    "client_reference": "C-1001",
    "episode_id": "e-1",
    "case_manager_id": "cm-1",
}
CASES += [
    (
        planning.ContactRecorded(
            **CASEWORK,
            contact_id="k-1",
            contact_type="collateral",
            occurred_at=AT,
            duration_minutes=20,
            late=True,
            goal_ids=["g-1"],
            appointment_id=None,
        ),
        "client/c-1",
        {
            **CASEWORK,
            "contact_id": "k-1",
            "contact_type": "collateral",
            "occurred_at": AT,
            "duration_minutes": 20,
            "late": True,
            "goal_ids": ["g-1"],
            "appointment_id": None,
        },
    ),
    (
        planning.AppointmentScheduled(
            **CASEWORK, appointment_id="a-1", starts_at=AT, duration_minutes=60, video=False
        ),
        "client/c-1",
        {
            **CASEWORK,
            "appointment_id": "a-1",
            "starts_at": AT,
            "duration_minutes": 60,
            "video": False,
        },
    ),
    (
        planning.AppointmentStatusChanged(
            **CASEWORK,
            appointment_id="a-1",
            status="rescheduled",
            starts_at=AT,
            rescheduled_to_id="a-2",
            at=AT,
        ),
        "client/c-1",
        {
            **CASEWORK,
            "appointment_id": "a-1",
            "status": "rescheduled",
            "starts_at": AT,
            "rescheduled_to_id": "a-2",
            "at": AT,
        },
    ),
]


CASES += [
    (
        intake.ReassessmentDue(
            client_id="c-1",
            client_reference="C-1001",
            episode_id="e-1",
            programme=None,
            due_on=DAY,
            reason="after_high_risk",
            last_assessment_id="a-1",
            case_manager_id="cm-1",
        ),
        "client/c-1",
        {
            "client_id": "c-1",
            "client_reference": "C-1001",
            "episode_id": "e-1",
            "programme": None,
            "due_on": DAY,
            "reason": "after_high_risk",
            "last_assessment_id": "a-1",
            "case_manager_id": "cm-1",
        },
    ),
    (
        intake.ReminderConsentChanged(
            client_id="c-1",
            consented=True,
            channel="sms",
            address="+15550142",
            version=1,
            changed_at=AT,
        ),
        "client/c-1",
        {
            "client_id": "c-1",
            "consented": True,
            "channel": "sms",
            "address": "+15550142",
            "version": 1,
            "changed_at": AT,
        },
    ),
]

#: A partner's referral to the agency, worked by intake: the outcome, never a name or client id.
DECIDED = {"organization_id": "housing-first", "outcome": "declined", "reason": "Out of area"}
CASES += [
    (
        intake.ReferralRequestDecided(request_id="r-1", decided_at=AT, **DECIDED),
        "inbound-referral/r-1",
        {"request_id": "r-1", "decided_at": AT, **DECIDED},
    ),
    (
        referrals.InboundReferralDecided(inbound_referral_id="r-1", decided_at=AT, **DECIDED),
        "inbound-referral/r-1",
        {"inbound_referral_id": "r-1", "decided_at": AT, **DECIDED},
    ),
]


def _payload(event_type: str, subject: str, data: Mapping[str, Any]) -> str:
    """The envelope as the outbox stores it (id and time pinned: they are not the producer's)."""
    event = Event(
        type=event_type,
        source="/test",
        subject=subject,
        data=REGISTRY.validate(event_type, data),
        id="00000000-0000-0000-0000-000000000001",
        time=AT,
    )
    return json.dumps(event.to_cloudevent(), separators=(",", ":"), sort_keys=True)


@pytest.mark.parametrize(("typed", "subject", "by_hand"), CASES, ids=lambda c: type(c).__name__)
def test_a_typed_event_serializes_as_the_hand_built_one(
    typed: TypedEvent, subject: str, by_hand: dict[str, Any]
) -> None:
    assert typed.subject == subject
    assert _payload(typed.TYPE, typed.subject, typed.data()) == _payload(
        typed.TYPE, subject, by_hand
    )


def test_the_approved_plan_payload_is_pinned_byte_for_byte() -> None:
    approved = planning.PlanApproved(
        **IDS, version=2, owner_id="cm-1", approved_at=AT, next_review_due=DAY
    )
    data = json.loads(_payload(approved.TYPE, approved.subject, approved.data()))["data"]
    assert json.dumps(data, separators=(",", ":"), sort_keys=True) == (
        '{"approved_at":"2026-11-30T03:30:15.123456+00:00","client_id":"c-1","episode_id":"e-1",'
        '"next_review_due":"2027-02-27","owner_id":"cm-1","plan_id":"p-1","version":2}'
    )


def test_every_typed_event_names_a_registered_contract() -> None:
    for typed, _subject, _data in CASES:
        assert REGISTRY.validate(typed.TYPE, typed.data()) is not None


def test_every_producer_publishes_typed_events() -> None:
    """No use case writes a type string and a hand-built dict any more."""
    root = Path(__file__).resolve().parents[2] / "services"
    by_hand = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if re.search(r"\.publish\(\s*[\"']casehub\.", path.read_text())
    ]
    assert not by_hand, (
        f"{by_hand}: publish a typed event (services/<name>/events.py), not a type string"
    )


def test_every_registered_contract_of_a_service_has_a_typed_constructor() -> None:
    typed = {case[0].TYPE for case in CASES}
    registered = {contract.type for contract in REGISTRY}
    assert registered <= typed, (
        f"{sorted(registered - typed)}: give each a typed constructor in its producer's "
        "events.py and a case in CASES above (its hand-built dict proves the wire format)"
    )


def test_consumers_receive_loaded_values_not_wire_strings() -> None:
    """What a handler reads: dates as dates and moments as aware datetimes, from the very
    strings on the wire."""
    due = planning.ReviewDue(
        review_id="r-1",
        plan_id="p-1",
        client_id="c-1",
        episode_id="e-1",
        due_on=DAY,
        case_manager_id=None,
    )
    on_the_wire = json.loads(_payload(due.TYPE, due.subject, due.data()))["data"]
    assert on_the_wire["due_on"] == "2027-02-27"
    assert REGISTRY.load(due.TYPE, on_the_wire) == due.data()
    changed = referrals.ReferralStatusChanged.of(
        REFERRAL, AT, from_status="draft", reason_code=None, by_side="referrer"
    )
    on_the_wire = json.loads(_payload(changed.TYPE, changed.subject, changed.data()))["data"]
    assert REGISTRY.load(changed.TYPE, on_the_wire)["at"] == AT
