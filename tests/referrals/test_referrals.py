"""Consent-checked referrals, the FHIR Task lifecycle, and what each partner may see."""

from __future__ import annotations

import functools
import itertools
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from services.referrals import operations
from services.referrals.domain import OWN_ENDPOINTS, TRANSITIONS, ReferralStatus, allowed_moves
from services.referrals.models import ConsentGrant
from shared.contracts import REGISTRY, Event
from shared.errors import Conflict
from shared.web.auth import Principal
from tests.referrals.conftest import CASE_MANAGER, HOUSING, THERAPY, ReferralsApi


@pytest.mark.parametrize(("zone", "sent"), [("UTC", True), ("Pacific/Kiritimati", False)])
def test_consent_ends_on_the_agency_s_expiry_day_not_utc_s(
    referrals: ReferralsApi, monkeypatch: pytest.MonkeyPatch, zone: str, sent: bool
) -> None:
    """Consent until 1 December: at noon UTC on 30 November it is already 1 December for an
    agency at UTC+14, so nothing more may be shared with the partner there."""
    monkeypatch.setenv("CASEHUB_TIMEZONE", zone)
    client_id = referrals.client(consent_to=None)
    referrals.deliver(
        "intake.consent.granted.v1",
        {
            "consent_id": str(uuid.uuid4()),
            "client_id": client_id,
            "organization_id": HOUSING,
            "categories": ["contact_details"],
            "starts_on": date(2026, 11, 1),
            "expires_on": date(2026, 12, 1),
        },
    )
    referral_id = referrals.referral(client_id, send=False)
    noon_utc = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    case_manager = Principal(sub="cm-1", roles=frozenset({"case_manager"}))
    try:
        with referrals.runtime.unit_of_work() as uow:
            operations.send(uow, case_manager, referral_id, noon_utc)
        outcome = True
    except Conflict as refused:
        assert refused.extensions["reason"] == "no_consent"
        outcome = False
    assert outcome is sent


def test_consent_grants_handled_together_leave_what_one_at_a_time_would(
    referrals: ReferralsApi,
) -> None:
    """The consumer's batch hook: a grant already recorded stays as it is, and of an id repeated
    within the batch the first counts, as when each event is handled in turn."""
    client_id = referrals.client(consent_to=None)
    known = referrals.consent(client_id, HOUSING, ["contact_details"])
    fresh, other = str(uuid.uuid4()), str(uuid.uuid4())

    def granted(consent_id: str, organization: str, categories: list[str]) -> Event:
        event_type = "casehub.intake.consent.granted.v1"
        data = {
            "consent_id": consent_id,
            "client_id": client_id,
            "organization_id": organization,
            "categories": categories,
            "starts_on": date(2026, 11, 1),
        }
        return Event(
            type=event_type,
            source="/intake",
            subject=f"client/{client_id}",
            data=REGISTRY.validate(event_type, data, tolerant=True),
        )

    hook = referrals.runtime.handlers()["intake.consent.granted.v1"].batch  # type: ignore[attr-defined]
    with referrals.runtime.unit_of_work() as uow:
        hook(
            [
                granted(known, THERAPY, ["diagnosis"]),
                granted(fresh, HOUSING, ["contact_details", "assessment_summary"]),
                granted(fresh, THERAPY, ["diagnosis"]),
                granted(other, THERAPY, ["assessment_summary"]),
            ],
            uow,
        )
    with referrals.runtime.database.read_session() as session:
        grants = {
            grant.consent_id: (grant.organization_id, grant.categories, grant.starts_on)
            for grant in session.scalars(
                select(ConsentGrant).where(ConsentGrant.client_id == client_id)
            )
        }
    assert grants[known][:2] == (HOUSING, ["contact_details"])
    assert grants[fresh] == (HOUSING, ["contact_details", "assessment_summary"], date(2026, 11, 1))
    assert grants[other] == (THERAPY, ["assessment_summary"], date(2026, 11, 1))
    assert len(grants) == 3


def test_sending_needs_consent_for_that_organisation(referrals: ReferralsApi) -> None:
    client_id = referrals.client(consent_to=THERAPY)
    referral_id = referrals.referral(client_id, "tenancy", send=False)
    refused = referrals.call("POST", f"/referrals/{referral_id}/send")
    assert refused.status_code == 409 and refused.json["reason"] == "no_consent"
    # consent recorded a moment ago in intake may still be on its way here: say so, not "go
    # record it", or a case manager who just did records it twice
    detail = refused.json["detail"]
    assert "reaches referrals within seconds" in detail and "retry shortly" in detail
    referrals.consent(client_id, HOUSING, ["contact_details"])
    assert referrals.call("POST", f"/referrals/{referral_id}/send").json["status"] == "requested"


def test_a_full_service_refuses_referrals_with_its_waitlist_state(referrals: ReferralsApi) -> None:
    referrals.call(
        "PUT",
        "/services/tenancy",
        as_=("admin-1", "admin"),
        json_body={
            "organization_id": HOUSING,
            "name": "tenancy",
            "domains": ["housing"],
            "capacity_status": "waitlist",
        },
    )
    referral_id = referrals.referral(referrals.client(), send=False)
    refused = referrals.call("POST", f"/referrals/{referral_id}/send")
    assert refused.status_code == 409 and refused.json["capacity_status"] == "waitlist"


def test_the_partner_sees_only_consented_categories_of_the_packet(referrals: ReferralsApi) -> None:
    client_id = referrals.client(categories=["contact_details", "assessment_summary"])
    referral_id = referrals.referral(client_id)
    seen = referrals.call(
        "GET", f"/partner/referrals/{referral_id}", as_=("h-1", "partner", HOUSING)
    ).json
    assert seen["packet"] == {
        "contact_details": {"phone": "555-0100"},
        "assessment_summary": "Unmet: housing",
    }
    assert "client_id" not in seen


def test_partners_never_see_another_organisations_referrals(referrals: ReferralsApi) -> None:
    referral_id = referrals.referral(referrals.client())
    other = ("t-1", "partner", THERAPY)
    assert referrals.call("GET", f"/partner/referrals/{referral_id}", as_=other).status_code == 404
    assert referrals.call("GET", "/partner/referrals", as_=other).json == {
        "items": [],
        "next_cursor": None,
    }
    assert referrals.partner_move(referral_id, "accepted", org=THERAPY).status_code == 404
    assert referrals.call("GET", "/partner/events", as_=other).json["items"] == []
    assert referrals.call("GET", "/referrals", as_=("h-1", "partner", HOUSING)).status_code == 403
    assert [
        r["id"]
        for r in referrals.call("GET", "/partner/referrals", as_=("h-1", "partner", HOUSING)).json[
            "items"
        ]
    ] == [referral_id]


def test_partners_do_not_see_drafts(referrals: ReferralsApi) -> None:
    referral_id = referrals.referral(referrals.client(), send=False)
    assert (
        referrals.call(
            "GET", f"/partner/referrals/{referral_id}", as_=("h-1", "partner", HOUSING)
        ).status_code
        == 404
    )


SIDE_OF = {"referrer": ("cm-1", "case_manager"), "partner": ("h-1", "partner", HOUSING)}
REACH = {  # how to bring a fresh referral to each status
    "draft": [],
    "requested": ["send"],
    "accepted": ["send", "accepted"],
    "in-progress": ["send", "accepted", "in-progress"],
    "on-hold": ["send", "accepted", "on-hold"],
    "rejected": ["send", "rejected"],
    "completed": ["send", "accepted", "completed"],
    "failed": ["send", "accepted", "failed"],
    "cancelled": ["cancelled"],
    "entered-in-error": ["entered-in-error"],
}


def _bring(referrals: ReferralsApi, status: str) -> str:
    referral_id = referrals.referral(referrals.client(), send=False)
    for step in REACH[status]:
        if step == "send":
            response = referrals.call("POST", f"/referrals/{referral_id}/send")
        elif step in ("cancelled", "entered-in-error"):
            response = referrals.call(
                "POST",
                f"/referrals/{referral_id}/status",
                json_body={"status": step, "reason_code": "duplicate"},
            )
        else:
            response = referrals.partner_move(
                referral_id, step, reason_code="no_capacity", outcome="Housed"
            )
        assert response.status_code == 200, (status, step, response.json)
    return referral_id


@pytest.mark.parametrize("start", [str(s) for s in ReferralStatus])
def test_every_move_by_each_side_follows_the_transition_table(
    referrals: ReferralsApi, start: str
) -> None:
    """From ``start``, every target status by each side: 200, 403 (the other side's move) or 409
    — also for a move of the side's own that has an endpoint of its own (sending), named."""
    for target, side in itertools.product(
        [str(s) for s in ReferralStatus], ["referrer", "partner"]
    ):
        referral_id = _bring(referrals, start)
        if "send" not in REACH[start] and side == "partner":
            # Never sent, so never the partner's to see or move (a draft, or one cancelled or
            # voided as a draft): tests/security/test_consent_gate.py.
            response = referrals.call(
                "POST",
                f"/partner/referrals/{referral_id}/status",
                as_=SIDE_OF[side],
                json_body={"status": target, "reason_code": "other", "outcome": "Done"},
            )
            assert response.status_code == 404, (start, target, response.json)
            continue
        path = (
            f"/referrals/{referral_id}/status"
            if side == "referrer"
            else f"/partner/referrals/{referral_id}/status"
        )
        response = referrals.call(
            "POST",
            path,
            as_=SIDE_OF[side],
            json_body={"status": target, "reason_code": "other", "outcome": "Done"},
        )
        legal_for_anyone = target in {str(t) for t in TRANSITIONS[ReferralStatus(start)]} or (
            target == "entered-in-error" and start != "entered-in-error"
        )
        movers = TRANSITIONS[ReferralStatus(start)].get(ReferralStatus(target))
        mine = legal_for_anyone and (
            side in {str(m) for m in movers} if movers else side == "referrer"
        )
        where = (start, target, side, response.json)
        if mine and ReferralStatus(target) in OWN_ENDPOINTS:
            assert response.status_code == 409, where
            assert response.json["reason"] == "use_own_endpoint", where
            assert response.json["endpoint"] == f"POST /referrals/{referral_id}/send", where
        elif mine:
            assert response.status_code == 200 and response.json["status"] == target, where
        else:
            assert response.status_code == (403 if legal_for_anyone else 409), where
            # only the caller's own moves, as ``allowed_moves`` lists them
            assert response.json["allowed"] == allowed_moves(start, side), where


def test_rejection_needs_a_reason_and_completion_an_outcome(referrals: ReferralsApi) -> None:
    referral_id = referrals.referral(referrals.client())
    unexplained = referrals.partner_move(referral_id, "rejected")
    assert unexplained.status_code == 422, unexplained.json  # as a missing outcome is
    assert "no_capacity" in unexplained.json["errors"]["json"]["reason_code"][0]
    assert unexplained.json["allowed"] == ["accepted", "rejected"]
    assert referrals.partner_move(referral_id, "accepted").status_code == 200
    assert referrals.partner_move(referral_id, "completed").status_code == 422
    done = referrals.partner_move(referral_id, "completed", outcome="Tenancy signed")
    assert done.status_code == 200 and done.json["outcome"] == "Tenancy signed"
    history = referrals.call("GET", f"/referrals/{referral_id}").json["transitions"]
    assert [(t["from_status"], t["to_status"], t["side"]) for t in history] == [
        ("draft", "requested", "referrer"),
        ("requested", "accepted", "partner"),
        ("accepted", "completed", "partner"),
    ]
    types = [e["type"].rsplit(".", 2)[-2] for e in referrals.events()]
    assert "completed" in types and types.count("status_changed") == 3


def _at_once(*calls: Any) -> list[Any]:
    """Run the calls on threads released together, as two people pressing a button together."""
    start = threading.Barrier(len(calls))

    def released(call: Any) -> Any:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(released, calls))


def _post_as(referrals: ReferralsApi, path: str, caller: tuple[str, ...], body: Any = None) -> Any:
    """A request on its own test client, ready to run on another thread."""
    http, token = referrals.http.application.test_client(), referrals.token(*caller)
    return lambda: http.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


def test_the_partner_accepting_while_the_case_manager_cancels_keeps_one_lifecycle(
    referrals: ReferralsApi,
) -> None:
    """Both sides move a requested referral at the same moment. They queue: the second move is
    judged against the status the first left (cancel after accept is legal; accept after cancel
    is a 409), so the lifecycle is one chain, never two transitions out of ``requested``."""
    for _ in range(5):
        referral_id = referrals.referral(referrals.client())
        responses = _at_once(
            _post_as(
                referrals,
                f"/partner/referrals/{referral_id}/status",
                ("h-1", "partner", HOUSING),
                {"status": "accepted"},
            ),
            _post_as(
                referrals,
                f"/referrals/{referral_id}/status",
                ("cm-1", "case_manager"),
                {"status": "cancelled", "reason_code": "other"},
            ),
        )
        assert all(r.status_code in (200, 409) for r in responses), [r.json for r in responses]
        chain = [
            (event["data"]["from_status"], event["data"]["status"])
            for event in referrals.events("referral.status_changed.v1")
            if event["data"]["referral_id"] == referral_id
        ]
        assert chain[0][1] == "requested", chain
        for (_, reached), (left, _) in itertools.pairwise(chain):
            assert left == reached, chain
        assert len(chain) == 1 + sum(r.status_code == 200 for r in responses), chain
        final = referrals.call("GET", f"/referrals/{referral_id}").json
        assert final["status"] == chain[-1][1], (final["status"], chain)


def test_a_referral_sent_as_consent_is_revoked_never_stays_open_without_consent(
    referrals: ReferralsApi,
) -> None:
    """The case manager sends while intake's revocation arrives: either the send is refused, or
    the revocation finds the sent referral and cancels it. Never shared without consent."""
    for _ in range(5):
        client_id = referrals.client(consent_to=None)
        consent_id = referrals.consent(client_id, HOUSING, ["contact_details"])
        referral_id = referrals.referral(client_id, send=False)
        revocation = {
            "consent_id": consent_id,
            "client_id": client_id,
            "organization_id": HOUSING,
            "categories": ["contact_details"],
            "revoked_at": datetime.now(UTC),
            "reason": "revoked",
        }
        response, _ = _at_once(
            _post_as(referrals, f"/referrals/{referral_id}/send", ("cm-1", "case_manager")),
            functools.partial(referrals.deliver, "intake.consent.revoked.v1", revocation),
        )
        status = referrals.call("GET", f"/referrals/{referral_id}").json["status"]
        if response.status_code == 200:
            assert status == "cancelled"
        else:
            # Refused for want of consent, or because the revocation had already cancelled it.
            assert response.status_code == 409, response.json
            assert (
                response.json.get("reason") == "no_consent"
                or response.json["current_status"] == "cancelled"
            ), response.json
            assert status in ("draft", "cancelled")  # the revocation also ends open drafts


def test_a_revocation_arriving_before_its_grant_keeps_the_consent_revoked(
    referrals: ReferralsApi,
) -> None:
    """intake granted then revoked; the grant reached referrals last (it went through a retry):
    the consent never counts, and nothing can be sent, nor shown to the partner, under it."""
    client_id = referrals.client(consent_to=None)
    consent_id = str(uuid.uuid4())
    shared = {
        "consent_id": consent_id,
        "client_id": client_id,
        "organization_id": HOUSING,
        "categories": ["contact_details", "assessment_summary"],
    }
    referrals.deliver(
        "intake.consent.revoked.v1",
        {**shared, "revoked_at": datetime.now(UTC), "reason": "revoked"},
    )
    referrals.deliver(
        "intake.consent.granted.v1",
        {**shared, "starts_on": date.today() - timedelta(days=1), "expires_on": None},
    )
    referral_id = referrals.referral(client_id, send=False)
    refused = referrals.call("POST", f"/referrals/{referral_id}/send")
    assert refused.status_code == 409 and refused.json["reason"] == "no_consent"
    referrals.consent(client_id, HOUSING, ["contact_details"])  # a new consent counts
    assert referrals.call("POST", f"/referrals/{referral_id}/send").json["status"] == "requested"


def test_a_discharge_replayed_after_readmission_leaves_the_new_episodes_referrals(
    referrals: ReferralsApi,
) -> None:
    """The discharge of the first episode went to the dead-letter queue and was replayed after
    the client came back and was assigned again: the referral of the new episode stays open."""
    client_id = referrals.client()
    assigned = {
        "client_id": client_id,
        "client_reference": "C-1042",
        "case_manager_id": CASE_MANAGER,
        "supervisor_id": "sup-1",
        "assigned_by": "iw-1",
        "method": "explicit",
        "over_cap": False,
        "assigned_at": datetime.now(UTC),
    }
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    referrals.deliver(
        "intake.case.assigned.v1", {**assigned, "episode_id": first, "care_version": 1}
    )
    referrals.deliver(
        "intake.case.assigned.v1", {**assigned, "episode_id": second, "care_version": 3}
    )
    referral_id = referrals.referral(client_id)
    referrals.deliver(
        "intake.client.discharged.v1",
        {
            "client_id": client_id,
            "client_reference": "C-1042",
            "episode_id": first,
            "discharged_at": datetime.now(UTC),
            "reason_code": "goals_met",
            "care_version": 2,
        },
    )
    assert referrals.call("GET", f"/referrals/{referral_id}").json["status"] == "requested"
    referrals.deliver(
        "intake.client.discharged.v1",
        {
            "client_id": client_id,
            "client_reference": "C-1042",
            "episode_id": second,
            "discharged_at": datetime.now(UTC),
            "reason_code": "goals_met",
            "care_version": 4,
        },
    )
    admin = ("admin-1", "admin")  # nobody carries the client now
    assert (
        referrals.call("GET", f"/referrals/{referral_id}", as_=admin).json["status"] == "cancelled"
    )


def test_referrals_list_narrows_to_one_client(referrals: ReferralsApi) -> None:
    """The web app's client record lists that client's referrals only."""
    first, second = referrals.client(consent_to=HOUSING), referrals.client(consent_to=HOUSING)
    mine = referrals.referral(first, send=False)
    referrals.referral(second, send=False)
    listed = referrals.call("GET", f"/referrals?client_id={first}").json["items"]
    assert [item["id"] for item in listed] == [mine]
    assert referrals.call("GET", "/referrals?client_id=nobody").json["items"] == []


def test_a_list_of_referrals_shows_each_as_read_alone_in_as_many_statements_for_any_count(
    referrals: ReferralsApi,
) -> None:
    """Consented categories and transitions come for the whole page at once: the same answer as
    each referral read alone, and no statement more for more referrals."""
    referrals.directory()
    client_id = referrals.client(consent_to=HOUSING, categories=["contact_details"])
    referrals.consent(client_id, THERAPY, ["assessment_summary"])
    first = referrals.referral(client_id)
    second = referrals.referral(client_id, "cbt", send=False)
    engine = referrals.runtime.database.engine
    statements: list[str] = []

    def counted(*args: Any) -> None:
        if "audit" not in args[2]:  # each referral read has its audit row (SQLite: an insert each)
            statements.append(args[2])

    def listed() -> tuple[list[dict[str, Any]], int]:
        statements.clear()
        event.listen(engine, "before_cursor_execute", counted)
        try:
            answer = referrals.call("GET", "/referrals", query={"client_id": client_id})
        finally:
            event.remove(engine, "before_cursor_execute", counted)
        assert answer.status_code == 200, answer.json
        return answer.json["items"], len(statements)

    two, with_two = listed()
    assert {r["id"] for r in two} == {first, second}
    for shown in two:
        assert shown == referrals.call("GET", f"/referrals/{shown['id']}").json
    by_id = {r["id"]: r for r in two}
    assert by_id[first]["shareable_categories"] == ["contact_details"]
    assert by_id[second]["shareable_categories"] == ["assessment_summary"]
    assert [t["to_status"] for t in by_id[first]["transitions"]][-1] == "requested"
    referrals.referral(client_id)
    referrals.referral(client_id, "cbt")
    four, with_four = listed()
    assert len(four) == 4 and with_four == with_two


def test_staff_read_the_partner_organisations_names(referrals: ReferralsApi) -> None:
    """Screens name a partner (a report's referrals chart), not its id; a partner lists none."""
    admin = ("admin-1", "admin")
    named = referrals.call(
        "PUT",
        f"/organizations/{HOUSING}",
        as_=admin,
        json_body={"name": "Housing First", "contacts": [{"name": "Jo", "phone": "555-0101"}]},
    )
    assert named.status_code == 200, named.json
    referrals.call("PUT", f"/organizations/{THERAPY}", as_=admin, json_body={"name": "Therapy"})
    first = referrals.call("GET", "/organizations", query={"limit": 1})
    assert first.status_code == 200, first.json
    assert first.json["items"] == [{"id": HOUSING, "name": "Housing First", "website": None}]
    rest = referrals.call("GET", "/organizations", query={"cursor": first.json["next_cursor"]})
    assert [o["name"] for o in rest.json["items"]] == ["Therapy"]
    assert "contacts" not in str(first.json)  # whom to call is not the list's to say
    partner = referrals.call("GET", "/organizations", as_=("p-1", "partner"))
    assert partner.status_code == 403
