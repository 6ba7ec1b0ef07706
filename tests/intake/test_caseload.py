"""Caseload caps, supervisor overrides, automatic assignment and the caseload views."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any

from sqlalchemy import MetaData, text

from services.intake.handlers import on_review_due
from services.intake.operations import caseload_view
from services.intake.response_json import caseload_entry_json
from services.intake.schemas import CaseloadEntry as CaseloadEntryOut
from shared.audit import AuditTrail
from shared.contracts import REGISTRY, Event
from shared.identity import Principal
from tests.intake.conftest import SUPERVISOR, IntakeApi
from tests.support.backends import Backend


def test_assigning_past_the_cap_is_409_unless_a_supervisor_overrides_with_a_reason(
    intake: IntakeApi,
) -> None:
    intake.case_manager("cm-1", cap=1)
    first, second = intake.register("A", "One"), intake.register("B", "Two")
    assert intake.assign(first["id"], "cm-1").status_code == 201

    refused = intake.assign(second["id"], "cm-1")
    assert refused.status_code == 409 and refused.json["caseload_cap"] == 1
    with_reason = intake.call(
        "POST",
        f"/clients/{second['id']}/assignment",
        json_body={"case_manager_id": "cm-1", "override_reason": "continuity"},
    )
    assert with_reason.status_code == 409  # an intake worker cannot override
    blank = intake.call(
        "POST",
        f"/clients/{second['id']}/assignment",
        as_=(SUPERVISOR, "supervisor"),
        json_body={"case_manager_id": "cm-1", "override_reason": "   "},
    )
    assert blank.status_code == 409
    overridden = intake.call(
        "POST",
        f"/clients/{second['id']}/assignment",
        as_=(SUPERVISOR, "supervisor"),
        json_body={"case_manager_id": "cm-1", "override_reason": "Knows the family"},
    )
    assert overridden.status_code == 201
    assert (
        overridden.json["over_cap"] is True
        and overridden.json["override_reason"] == "Knows the family"
    )
    assigned = intake.events("case.assigned.v1")
    assert [e["data"]["over_cap"] for e in assigned] == [False, True]
    audit = intake.call(
        "GET", "/audit", as_=("admin-1", "admin"), query={"client_id": second["id"]}
    ).json["items"]
    assert any(
        entry["action"] == "assign"
        and entry["detail"]["override_reason"] == "Knows the family"
        and entry["actor"] == SUPERVISOR
        for entry in audit
    )


def test_automatic_assignment_picks_the_least_loaded_then_fewest_open_risks(
    intake: IntakeApi,
) -> None:
    for cm in ("cm-a", "cm-b", "cm-c"):
        intake.case_manager(cm)
    busy = intake.register("Busy", "Client")
    intake.assign(busy["id"], "cm-a")
    risky = intake.register("Risky", "Client")
    intake.assign(risky["id"], "cm-b")
    intake.call(
        "POST",
        f"/clients/{risky['id']}/assessments",
        json_body={
            "domains": {"housing": {"rating": "met_need"}},
            "phq9": {"items": [0, 0, 0, 0, 0, 0, 0, 0, 1]},
        },
    )
    newcomer = intake.register("New", "Client")
    response = intake.call(
        "POST", f"/clients/{newcomer['id']}/assignment", json_body={"team": "north"}
    )
    assert response.status_code == 201 and response.json["case_manager_id"] == "cm-c"
    another = intake.register("Another", "Client")
    response = intake.call(
        "POST", f"/clients/{another['id']}/assignment", json_body={"team": "north"}
    )
    assert response.json["case_manager_id"] == "cm-a"  # a and b carry one each; b has an open risk
    assert response.json["method"] == "automatic"


def test_automatic_assignment_in_a_full_team_is_409(intake: IntakeApi) -> None:
    intake.case_manager("cm-1", cap=1)
    intake.assign(intake.register("A", "One")["id"], "cm-1")
    response = intake.call(
        "POST",
        f"/clients/{intake.register('B', 'Two')['id']}/assignment",
        json_body={"team": "north"},
    )
    assert response.status_code == 409


def test_team_view_shows_load_against_cap_for_the_supervisors_team_only(intake: IntakeApi) -> None:
    intake.case_manager("cm-1", cap=10)
    intake.case_manager("cm-x", supervisor="sup-2", team="south")
    intake.assign(intake.register()["id"], "cm-1")
    team = intake.call("GET", "/case-managers", as_=(SUPERVISOR, "supervisor")).json["items"]
    assert [(m["id"], m["active_clients"], m["caseload_cap"]) for m in team] == [("cm-1", 1, 10)]
    everyone = intake.call("GET", "/case-managers", as_=("admin-1", "admin")).json["items"]
    assert {m["id"] for m in everyone} == {"cm-1", "cm-x"}


def test_caseload_lists_open_risk_first_then_nearest_review(intake: IntakeApi) -> None:
    intake.case_manager("cm-1")
    clients = [intake.register(f"C{n}", "Person", f"1980-01-0{n + 1}") for n in range(3)]
    for client in clients:
        intake.assign(client["id"], "cm-1")
    intake.call(
        "POST",
        f"/clients/{clients[2]['id']}/assessments",
        json_body={
            "domains": {"housing": {"rating": "met_need"}},
            "phq9": {"items": [0, 0, 0, 0, 0, 0, 0, 0, 1]},
        },
    )
    with intake.runtime.unit_of_work() as uow:
        on_review_due(
            Event(
                type="casehub.planning.review.due.v1",
                source="/planning",
                subject="x",
                data={
                    "review_id": "r1",
                    "plan_id": "p1",
                    "client_id": clients[1]["id"],
                    "episode_id": clients[1]["episodes"][0]["id"],
                    "due_on": date(2026, 12, 1),
                },
            ),
            uow,
        )
    mine = ("cm-1", "case_manager")
    caseload = intake.call("GET", "/case-managers/cm-1/caseload", as_=mine).json["items"]
    assert [entry["client"]["id"] for entry in caseload] == [
        clients[2]["id"],
        clients[1]["id"],
        clients[0]["id"],
    ]
    paged, cursor = [], None
    while True:
        query = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = intake.call("GET", "/case-managers/cm-1/caseload", as_=mine, query=query).json
        paged += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    assert paged == caseload  # a page at a time, the same order, each client once
    forged = intake.call(
        "GET", "/case-managers/cm-1/caseload", as_=mine, query={"cursor": "WzEsMiwzXQ"}
    )
    assert forged.status_code == 422
    assert (
        caseload[0]["highest_open_risk"] == "moderate"
        and caseload[1]["next_review_due"] == "2026-12-01"
    )
    assert (
        intake.call("GET", "/case-managers/cm-1/caseload", as_=("cm-2", "case_manager")).status_code
        == 404
    )
    assert (
        intake.call(
            "GET", "/case-managers/cm-1/caseload", as_=(SUPERVISOR, "supervisor")
        ).status_code
        == 200
    )
    assert (
        intake.call("GET", "/case-managers/cm-1/caseload", as_=("sup-2", "supervisor")).status_code
        == 404
    )


def test_reassignment_ends_the_previous_assignment_and_names_it_in_the_event(
    intake: IntakeApi,
) -> None:
    intake.case_manager("cm-1")
    intake.case_manager("cm-2")
    client = intake.register()
    intake.assign(client["id"], "cm-1")
    assert intake.assign(client["id"], "cm-1").status_code == 409
    moved = intake.call(
        "POST",
        f"/clients/{client['id']}/assignment",
        as_=(SUPERVISOR, "supervisor"),
        json_body={"case_manager_id": "cm-2"},
    )
    assert moved.status_code == 201
    assert intake.events("case.assigned.v1")[-1]["data"]["previous_case_manager_id"] == "cm-1"
    assert (
        intake.call("GET", f"/clients/{client['id']}", as_=("cm-1", "case_manager")).status_code
        == 404
    )
    assert (
        intake.call("GET", f"/clients/{client['id']}", as_=("cm-2", "case_manager")).status_code
        == 200
    )


def _contact_recorded(intake: IntakeApi, client: dict[str, Any], occurred_at: str) -> None:
    """Planning's ``contact.recorded`` handed to intake's handler as its consumer would."""
    event_type = "casehub.planning.contact.recorded.v1"
    data = {
        "client_id": client["id"],
        "client_reference": client["reference"],
        "episode_id": client["episodes"][-1]["id"],
        "case_manager_id": "cm-1",
        "contact_id": str(uuid.uuid4()),
        "contact_type": "phone",
        "occurred_at": occurred_at,
        "duration_minutes": 20,
        "late": False,
        "goal_ids": [],
    }
    event = Event(
        type=event_type,
        source="/planning",
        subject=f"client/{client['id']}",
        data=REGISTRY.validate(event_type, data, tolerant=True),
    )
    with intake.runtime.unit_of_work() as uow:
        intake.runtime.handlers()["planning.contact.recorded.v1"](event, uow)


def _the_only_client_of_cm_1(intake: IntakeApi) -> dict[str, Any]:
    intake.case_manager("cm-1")
    client = intake.register()
    assert intake.assign(client["id"], "cm-1").status_code == 201
    return dict(intake.call("GET", f"/clients/{client['id']}").json)


def _the_caseload_entry(intake: IntakeApi) -> dict[str, Any]:
    response = intake.call("GET", "/case-managers/cm-1/caseload", as_=("cm-1", "case_manager"))
    assert response.status_code == 200, response.json
    [entry] = response.json["items"]
    return dict(entry)


def test_the_caseload_shows_the_latest_contact_whatever_order_events_arrive_in(
    intake: IntakeApi,
) -> None:
    client = _the_only_client_of_cm_1(intake)

    def last_contact() -> Any:
        return _the_caseload_entry(intake)["last_contact_at"]

    assert last_contact() is None
    _contact_recorded(intake, client, "2026-11-20T10:00:00+00:00")
    _contact_recorded(intake, client, "2026-11-19T16:00:00+00:00")  # older, arriving late
    _contact_recorded(intake, client, "2026-11-20T11:30:00+02:00")  # 09:30 UTC: earlier still
    _contact_recorded(intake, client, "2026-11-20T10:00:00+00:00")  # the same time again
    assert last_contact() == "2026-11-20T10:00:00+00:00"
    _contact_recorded(intake, client, "2026-11-21T08:15:00+00:00")
    assert last_contact() == "2026-11-21T08:15:00+00:00"


def _planning_event(
    intake: IntakeApi, client: dict[str, Any], kind: str, raised_at: str, **data: Any
) -> None:
    """Planning's ``kind`` event about the client's plan, raised at ``raised_at``, handed to
    intake's handler as its consumer would."""
    event_type = f"casehub.planning.{kind}.v1"
    ids = {
        "plan_id": "plan-1",
        "client_id": client["id"],
        "episode_id": client["episodes"][-1]["id"],
    }
    event = Event(
        type=event_type,
        source="/planning",
        subject=f"client/{client['id']}",
        time=datetime.fromisoformat(raised_at),
        data=REGISTRY.validate(event_type, {**ids, **data}, tolerant=True),
    )
    with intake.runtime.unit_of_work() as uow:
        intake.runtime.handlers()[f"planning.{kind}.v1"](event, uow)


def test_the_caseload_shows_the_latest_next_review_whatever_order_events_arrive_in(
    intake: IntakeApi,
) -> None:
    client = _the_only_client_of_cm_1(intake)

    def next_review() -> Any:
        return _the_caseload_entry(intake)["next_review_due"]

    def approved(raised_at: str, due: str) -> None:
        _planning_event(
            intake,
            client,
            "plan.approved",
            raised_at,
            version=1,
            owner_id="cm-1",
            approved_at=raised_at,
            next_review_due=due,
        )

    def fell_due(raised_at: str, due: str) -> None:
        _planning_event(intake, client, "review.due", raised_at, review_id="review-1", due_on=due)

    approved("2026-09-01T10:00:00+00:00", "2026-12-01")
    fell_due("2026-12-01T06:00:00+00:00", "2026-12-01")
    approved("2026-12-02T15:00:00+00:00", "2027-03-02")  # the review held: the plan approved again
    assert next_review() == "2027-03-02"
    _planning_event(
        intake,
        client,
        "review.scheduled",
        "2026-12-05T08:00:00+00:00",
        review_id="review-2",
        due_on="2026-12-12",
        reason="crisis",
    )
    assert next_review() == "2026-12-12"  # brought forward after a crisis
    approved("2026-12-02T15:00:00+00:00", "2027-03-02")  # that approval again, redelivered
    assert next_review() == "2026-12-12"
    approved("2026-12-06T15:00:00+00:00", "2027-03-02")
    fell_due("2026-12-01T06:00:00+00:00", "2026-12-01")  # redelivered late: the old review
    approved("2026-09-01T10:00:00+00:00", "2026-12-01")  # the first approval, late too
    assert next_review() == "2027-03-02"
    _planning_event(
        intake,
        client,
        "plan.closed",
        "2026-12-10T09:00:00+00:00",
        reason="decision",
        closed_at="2026-12-10T09:00:00+00:00",
    )
    assert next_review() is None  # a closed plan has no review to hold, nor one overdue
    approved("2026-12-02T15:00:00+00:00", "2027-03-02")  # arriving after the close
    assert next_review() is None
    approved("2026-12-11T11:00:00+00:00", "2027-03-11")  # a new plan, approved after
    assert next_review() == "2027-03-11"


def test_a_contact_of_a_closed_episode_does_not_show_on_the_next(intake: IntakeApi) -> None:
    intake.case_manager("cm-1")
    client = intake.register()
    assert intake.assign(client["id"], "cm-1").status_code == 201
    first = intake.call("GET", f"/clients/{client['id']}").json
    discharged = intake.call(
        "POST",
        f"/clients/{client['id']}/discharge",
        as_=("cm-1", "case_manager"),
        json_body={"reason_code": "goals_met"},
    )
    assert discharged.status_code == 200, discharged.json
    readmitted = intake.call("POST", f"/clients/{client['id']}/readmit")
    assert readmitted.status_code == 201, readmitted.json
    assert intake.assign(client["id"], "cm-1").status_code == 201
    _contact_recorded(intake, first, "2026-11-20T10:00:00+00:00")  # names the old episode
    [entry] = intake.call("GET", "/case-managers/cm-1/caseload", as_=("cm-1", "case_manager")).json[
        "items"
    ]
    assert entry["last_contact_at"] is None


def test_the_caseload_body_is_what_its_documented_schema_would_dump(intake: IntakeApi) -> None:
    """The view writes its JSON by hand (speed): it must stay what ``CaseloadEntry`` documents,
    with and without the optional values."""
    intake.case_manager("cm-1")
    clients = [intake.register(f"D{n}", "Dump", f"1981-02-0{n + 1}") for n in range(2)]
    for client in clients:
        intake.assign(client["id"], "cm-1")
    intake.call(
        "POST",
        f"/clients/{clients[0]['id']}/assessments",
        json_body={
            "domains": {"housing": {"rating": "met_need"}},
            "phq9": {"items": [0, 0, 0, 0, 0, 0, 0, 0, 1]},
        },
    )
    with intake.runtime.audited_read() as read:
        page = caseload_view.caseload(
            read,
            Principal(sub="admin-1", roles=frozenset({"admin"})),
            "cm-1",
            limit=50,
            cursor=None,
        )
    assert len(page.items) == 2 and {e.highest_open_risk for e in page.items} == {None, "moderate"}
    schema = CaseloadEntryOut()
    assert set(schema.fields) == set(caseload_entry_json(page.items[0]))
    for entry in page.items:
        assert caseload_entry_json(entry) == schema.dump(entry)
    served = intake.call("GET", "/case-managers/cm-1/caseload", as_=("admin-1", "admin")).json
    assert served["items"] == json.loads(json.dumps(schema.dump(page.items, many=True)))


def _caseload_reads(intake: IntakeApi) -> list[Any]:
    with intake.runtime.database.engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT entity_id, actor, detail, row_hash FROM audit_log"
                    " WHERE action = 'read' AND entity = 'caseload' ORDER BY id"
                )
            )
        )


def test_every_caseload_read_is_audited_and_chained_even_while_every_lane_is_held(
    intake: IntakeApi, backend: Backend
) -> None:
    """The caseload is an audited read (no transaction of its own on PostgreSQL): its audit row
    is chained before the answer leaves, also when another transaction holds every lane of the
    trail (then the read waits for one); a refused read records nothing."""
    intake.case_manager("cm-1")
    client = intake.register("Audit", "Read")
    intake.assign(client["id"], "cm-1")
    admin = ("admin-1", "admin")
    assert intake.call("GET", "/case-managers/cm-1/caseload", as_=admin).status_code == 200
    refused = intake.call("GET", "/case-managers/cm-1/caseload", as_=("cm-2", "case_manager"))
    assert refused.status_code == 404
    if backend.is_real:
        holder = intake.runtime.database.engine.connect()
        holder.execute(text("SELECT id FROM audit_chain FOR UPDATE"))
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(intake.call, "GET", "/case-managers/cm-1/caseload", as_=admin)
            time.sleep(0.3)
            assert not waiting.done()  # no answer before its audit row is chained
            holder.rollback()
            holder.close()
            assert waiting.result(timeout=30).status_code == 200
    else:
        assert intake.call("GET", "/case-managers/cm-1/caseload", as_=admin).status_code == 200
    reads = _caseload_reads(intake)
    assert [(row.entity_id, row.actor) for row in reads] == [("cm-1", "admin-1")] * 2
    details = [json.loads(r.detail) if isinstance(r.detail, str) else r.detail for r in reads]
    assert details == [{"clients": 1}] * 2 and all(len(row.row_hash) == 64 for row in reads)
    with intake.runtime.database.read_session() as session:
        assert AuditTrail(MetaData()).verify(session).intact
