"""A small cohort with known dates and scores, as the events the other services would publish;
the figures each test expects are worked out by hand in ``EXPECTED`` below.

Period: 2026-01-01 to 2026-03-31; "today" is 2026-04-15. Team north (cm-1, cm-2, supervised by
sup-north), team south (cm-3, sup-south). Episodes e1..e6 are in programme housing-first (north),
e7 in programme act (south).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from shared.contracts import REGISTRY, Event

PERIOD = (date(2026, 1, 1), date(2026, 3, 31))
TODAY = date(2026, 4, 15)
SOURCES = {"intake": "/intake", "planning": "/planning", "referrals": "/referrals"}


def at(day: str, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.fromisoformat(f"2026-{day}T{hour:02d}:{minute:02d}:00+00:00")


def event(routing_key: str, data: dict[str, Any], time: datetime) -> Event:
    event_type = f"casehub.{routing_key}"
    source = "/" + routing_key.split(".")[0]
    return Event(
        type=event_type,
        source=source,
        subject=f"client/{data.get('client_id', 'x')}",
        data=REGISTRY.validate(event_type, data),
        id=str(uuid.uuid4()),
        time=time,
    )


def _client(n: int) -> dict[str, Any]:
    return {"client_id": f"client-{n}", "client_reference": f"C-{n}", "episode_id": f"e{n}"}


def staff(manager: str, team: str, supervisor: str, version: int = 1) -> Event:
    return event(
        "intake.case_manager.updated.v1",
        {
            "case_manager_id": manager,
            "team": team,
            "supervisor_id": supervisor,
            "caseload_cap": 30,
            "active": True,
            "version": version,
            "updated_at": at("01-01", 8),
        },
        at("01-01", 8),
    )


def assessment(n: int, day: str, phq9: int | None, gad7: int | None = None) -> Event:
    moment = at(day, 11)

    def summary(total: int | None) -> dict[str, Any] | None:
        return None if total is None else {"total": total, "severity": "mild"}

    return event(
        "intake.assessment.completed.v1",
        {
            **_client(n),
            "assessment_id": str(uuid.uuid4()),
            "version": 1,
            "completed_at": moment,
            "unmet_needs": [],
            "phq9": summary(phq9),
            "gad7": summary(gad7),
            "risk_level": "none",
        },
        moment,
    )


def referral(key: str, status_key: str, data: dict[str, Any], moment: datetime) -> Event:
    return event(
        f"referrals.referral.{key}.v1",
        {
            "referral_id": data["referral_id"],
            "client_id": data["client_id"],
            "client_reference": "C-0",
            "organization_id": data["organization_id"],
            "status": status_key,
            "at": moment,
            **data.get("extra", {}),
        },
        moment,
    )


def cohort() -> list[Event]:
    events = [
        staff("cm-1", "north", "sup-north"),
        staff("cm-2", "north", "sup-north"),
        staff("cm-3", "south", "sup-south"),
    ]
    managers = {1: "cm-1", 2: "cm-1", 3: "cm-1", 4: "cm-2", 5: "cm-2", 6: "cm-2", 7: "cm-3"}
    for n in range(1, 8):
        registered = at(f"01-0{n}") if n < 7 else at("02-01")
        programme = "housing-first" if n < 7 else "act"
        events.append(
            event(
                "intake.client.registered.v1",
                {
                    **_client(n),
                    "programme": programme,
                    "registered_by": "iw-1",
                    "registered_at": registered,
                },
                registered,
            )
        )
        assigned = registered + timedelta(days=n if n < 7 else 2)
        events.append(
            event(
                "intake.case.assigned.v1",
                {
                    **_client(n),
                    "programme": programme,
                    "case_manager_id": managers[n],
                    "assigned_by": "iw-1",
                    "method": "explicit",
                    "over_cap": False,
                    "assigned_at": assigned,
                },
                assigned,
            )
        )
    # e6 moves from cm-2 to cm-1 on 20 March.
    events.append(
        event(
            "intake.case.assigned.v1",
            {
                **_client(6),
                "case_manager_id": "cm-1",
                "previous_case_manager_id": "cm-2",
                "assigned_by": "sup-north",
                "method": "explicit",
                "over_cap": False,
                "assigned_at": at("03-20"),
            },
            at("03-20"),
        )
    )
    for n in range(1, 6):  # plans approved 10, 20, 30, 40, 50 days after registration
        approved = at(f"01-0{n}") + timedelta(days=10 * n)
        events.append(
            event(
                "planning.plan.approved.v1",
                {
                    "plan_id": f"plan-{n}",
                    "client_id": f"client-{n}",
                    "episode_id": f"e{n}",
                    "version": 1,
                    "approved_at": approved,
                    "next_review_due": "2026-06-01",
                },
                approved,
            )
        )
    for n, (first, last) in {1: (20, 8), 2: (15, 4), 3: (12, 10), 4: (8, 2), 5: (22, 18)}.items():
        events.append(assessment(n, f"01-0{n}", first, gad7=14 if n == 1 else None))
        events.append(assessment(n, "03-0" + str(n), last, gad7=6 if n == 1 else None))
    events.append(assessment(6, "01-06", 18))  # a baseline only
    for review, (n, due, held) in {
        "r1": (1, "2026-02-01", at("01-30")),
        "r2": (2, "2026-02-10", at("02-12")),
        "r3": (3, "2026-03-01", None),
        "r4": (4, "2026-03-30", at("03-30", 16)),
        "r5": (5, "2026-04-10", None),
    }.items():
        events.append(
            event(
                "planning.review.due.v1",
                {
                    "review_id": review,
                    "plan_id": f"plan-{n}",
                    "client_id": f"client-{n}",
                    "episode_id": f"e{n}",
                    "due_on": due,
                },
                at("01-01", 7),
            )
        )
        if held is not None:
            events.append(
                event(
                    "planning.plan.reviewed.v1",
                    {
                        "plan_id": f"plan-{n}",
                        "client_id": f"client-{n}",
                        "episode_id": f"e{n}",
                        "review_id": review,
                        "version": 2,
                        "reviewed_at": held,
                    },
                    held,
                )
            )
    housing = {"organization_id": "housing-co"}
    therapy = {"organization_id": "therapy-co"}
    moves = [
        (
            "ref1",
            1,
            housing,
            [
                ("sent", "requested", "01-10"),
                ("accepted", None, "01-12"),
                ("completed", None, "03-01"),
            ],
        ),
        (
            "ref2",
            2,
            housing,
            [("sent", "requested", "01-15"), ("rejected", "no-capacity", "01-16")],
        ),
        ("ref3", 3, housing, [("sent", "requested", "02-01"), ("accepted", None, "02-05")]),
        (
            "ref4",
            4,
            therapy,
            [("sent", "requested", "02-02"), ("rejected", "client-declined", "02-03")],
        ),
    ]
    for referral_id, n, org, steps in moves:
        base = {"referral_id": referral_id, "client_id": f"client-{n}", **org}
        for step, detail, day in steps:
            if step == "sent":
                events.append(referral("sent", "requested", base, at(day)))
            elif step == "completed":
                events.append(referral("completed", "completed", base, at(day)))
            else:
                extra = {"from_status": "requested", "by_side": "partner", "reason_code": detail}
                events.append(referral("status_changed", step, {**base, "extra": extra}, at(day)))
    for flag, n, flagged, acknowledged in (
        ("f1", 1, at("01-20", 10), at("01-20", 10, 10)),
        ("f2", 2, at("02-03", 10), at("02-03", 10, 30)),
        ("f3", 3, at("03-03", 10), None),
    ):
        events.append(
            event(
                "intake.risk.flagged.v1",
                {
                    **_client(n),
                    "flag_id": flag,
                    "assessment_id": str(uuid.uuid4()),
                    "level": "high",
                    "reasons": ["cssrs"],
                    "flagged_at": flagged,
                },
                flagged,
            )
        )
        if acknowledged is not None:
            events.append(
                event(
                    "notifications.notification.acknowledged.v1",
                    {
                        "notification_id": f"n-{flag}",
                        "client_id": f"client-{n}",
                        "urgency": "urgent",
                        "acknowledged_by": "cm-1",
                        "acknowledged_at": acknowledged,
                    },
                    acknowledged,
                )
            )
    for n, day, reason in (
        (1, "03-10", "goals-met"),
        (2, "03-15", "goals-met"),
        (3, "04-02", "moved"),
    ):
        events.append(
            event(
                "intake.client.discharged.v1",
                {**_client(n), "discharged_at": at(day), "reason_code": reason},
                at(day),
            )
        )
    return events
