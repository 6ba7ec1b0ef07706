"""The duplicate check never reveals a client the caller may not see: such a registration goes
through and the pair waits on the duplicate-review list, where a supervisor who sees both
records, or an admin, decides whether they are one person (merged) or two (distinct)."""

from __future__ import annotations

from typing import Any

from tests.intake.conftest import OTHER_SUPERVISOR, SUPERVISOR, IntakeApi

ADMIN = ("admin-1", "admin")
ALEX = {"given_name": "Alex", "family_name": "Rivera", "date_of_birth": "1988-04-12"}


def _assigned_client(intake: IntakeApi) -> dict[str, Any]:
    """Alex Rivera, registered by iw-1 and on cm-1's caseload in sup-1's team."""
    intake.case_manager("cm-1")
    client = intake.register()
    assert intake.assign(client["id"], "cm-1").status_code == 201
    return client


def _register(intake: IntakeApi, caller: tuple[str, ...], **extra: Any) -> Any:
    return intake.call("POST", "/clients", as_=caller, json_body={**ALEX, **extra})


def _reviews(intake: IntakeApi, caller: tuple[str, ...] = ADMIN, **query: Any) -> Any:
    return intake.call("GET", "/duplicate-reviews", as_=caller, query=query)


def test_a_caller_who_can_see_the_match_still_gets_409_naming_it(intake: IntakeApi) -> None:
    existing = _assigned_client(intake)
    for caller in (("iw-1", "intake_worker"), (SUPERVISOR, "supervisor"), ADMIN):
        refused = _register(intake, caller)
        assert refused.status_code == 409, caller
        assert refused.json["existing_client_ids"] == [existing["id"]]
    assert _reviews(intake).json["items"] == []
    assert len(intake.events("client.registered.v1")) == 1


def test_a_caller_who_cannot_see_the_match_registers_and_the_pair_goes_to_review(
    intake: IntakeApi,
) -> None:
    alex = _assigned_client(intake)
    sam = intake.register("Sam", "Okafor", "1979-02-03")
    assert intake.assign(sam["id"], "cm-1").status_code == 201
    registrations = {
        alex["id"]: (("iw-2", "intake_worker"), ALEX),
        sam["id"]: (
            (OTHER_SUPERVISOR, "supervisor"),
            {"given_name": "Sam", "family_name": "Okafor", "date_of_birth": "1979-02-03"},
        ),
    }
    for existing_id, (caller, person) in registrations.items():
        registered = intake.call("POST", "/clients", as_=caller, json_body=person)
        assert registered.status_code == 201, registered.json
        assert existing_id not in registered.get_data(as_text=True)
    reviews = _reviews(intake, status="open").json["items"]
    assert [(r["existing_client_id"], r["flagged_by"], r["status"]) for r in reviews] == [
        (alex["id"], "iw-2", "open"),
        (sam["id"], OTHER_SUPERVISOR, "open"),
    ]
    # each pair with its own records' references (looked up for the whole page at once)
    assert [r["existing_client_reference"] for r in reviews] == [
        alex["reference"],
        sam["reference"],
    ]
    assert len({r["new_client_reference"] for r in reviews} - {None}) == 2
    assert all(r["new_client_id"] not in registrations for r in reviews)
    # sup-1 sees both records of each pair; sup-2 not the existing ones (another team's clients)
    assert len(_reviews(intake, (SUPERVISOR, "supervisor")).json["items"]) == 2
    assert _reviews(intake, (OTHER_SUPERVISOR, "supervisor")).json["items"] == []
    assert _reviews(intake, ("iw-2", "intake_worker")).status_code == 403
    for existing_id, ((actor, _role), _person) in registrations.items():
        audit = intake.call("GET", "/audit", as_=ADMIN, query={"client_id": existing_id}).json
        assert (actor, "flag", "duplicate_review") in [
            (e["actor"], e["action"], e["entity"]) for e in audit["items"]
        ]


def test_a_caller_seeing_one_match_of_two_is_told_only_of_the_one_they_see(
    intake: IntakeApi,
) -> None:
    hidden = _assigned_client(intake)
    seen = _register(intake, ("iw-2", "intake_worker"))  # unassigned: iw-2 sees their own
    assert seen.status_code == 201
    refused = _register(intake, ("iw-2", "intake_worker"))
    assert refused.status_code == 409
    assert refused.json["existing_client_ids"] == [seen.json["id"]]
    assert hidden["id"] not in refused.get_data(as_text=True)
    confirmed = _register(intake, ("iw-2", "intake_worker"), confirmed_not_duplicate=True)
    assert confirmed.status_code == 201
    pairs = {(r["new_client_id"], r["existing_client_id"]) for r in _reviews(intake).json["items"]}
    assert pairs == {(seen.json["id"], hidden["id"]), (confirmed.json["id"], hidden["id"])}


def test_distinct_closes_the_review_and_changes_neither_record(intake: IntakeApi) -> None:
    existing = _assigned_client(intake)
    new = _register(intake, ("iw-2", "intake_worker")).json
    [review] = _reviews(intake).json["items"]
    outsider = intake.call(
        "POST",
        f"/duplicate-reviews/{review['id']}/resolve",
        as_=(OTHER_SUPERVISOR, "supervisor"),
        json_body={"outcome": "distinct"},
    )
    assert outsider.status_code == 404
    resolved = intake.call(
        "POST",
        f"/duplicate-reviews/{review['id']}/resolve",
        as_=(SUPERVISOR, "supervisor"),
        json_body={"outcome": "distinct", "note": "Different mothers' names."},
    )
    assert resolved.status_code == 200, resolved.json
    assert (resolved.json["status"], resolved.json["outcome"], resolved.json["resolved_by"]) == (
        "resolved",
        "distinct",
        SUPERVISOR,
    )
    again = intake.call(
        "POST",
        f"/duplicate-reviews/{review['id']}/resolve",
        as_=ADMIN,
        json_body={"outcome": "merged"},
    )
    assert again.status_code == 409 and again.json["outcome"] == "distinct"
    for client in (existing, new):
        record = intake.call("GET", f"/clients/{client['id']}", as_=ADMIN).json
        assert record["status"] == "open" and record["merged_into_id"] is None
    assert _reviews(intake, status="open").json["items"] == []
    audit = intake.call("GET", "/audit", as_=ADMIN, query={"client_id": new["id"]}).json["items"]
    assert (SUPERVISOR, "resolve", {"outcome": "distinct"}) in [
        (e["actor"], e["action"], e["detail"]) for e in audit
    ]


def test_merged_closes_the_newer_record_as_a_duplicate_of_the_older(intake: IntakeApi) -> None:
    existing = _assigned_client(intake)
    new = _register(intake, (OTHER_SUPERVISOR, "supervisor")).json
    [review] = _reviews(intake).json["items"]
    merged = intake.call(
        "POST",
        f"/duplicate-reviews/{review['id']}/resolve",
        as_=ADMIN,
        json_body={"outcome": "merged"},
    )
    assert merged.status_code == 200, merged.json
    duplicate = intake.call("GET", f"/clients/{new['id']}", as_=ADMIN).json
    assert (duplicate["status"], duplicate["merged_into_id"]) == ("merged", existing["id"])
    assert duplicate["episodes"][-1]["status"] == "discharged"
    assert duplicate["episodes"][-1]["discharge_reason"] == "duplicate_record"
    surviving = intake.call("GET", f"/clients/{existing['id']}", as_=ADMIN).json
    assert (surviving["status"], surviving["case_manager_id"]) == ("open", "cm-1")
    [closed] = intake.events("client.discharged.v1")
    assert closed["data"]["client_id"] == new["id"]
    assert closed["data"]["reason_code"] == "duplicate_record"
    readmit = intake.call("POST", f"/clients/{new['id']}/readmit", as_=ADMIN)
    assert readmit.status_code == 409 and readmit.json["merged_into_id"] == existing["id"]
    # a later registration of the same person is matched against the surviving record only
    refused = _register(intake, ADMIN)
    assert refused.json["existing_client_ids"] == [existing["id"]]


def test_a_bad_outcome_is_a_422(intake: IntakeApi) -> None:
    _assigned_client(intake)
    _register(intake, ("iw-2", "intake_worker"))
    [review] = _reviews(intake).json["items"]
    response = intake.call(
        "POST",
        f"/duplicate-reviews/{review['id']}/resolve",
        as_=ADMIN,
        json_body={"outcome": "maybe"},
    )
    assert response.status_code == 422 and "outcome" in response.json["errors"]["json"]
