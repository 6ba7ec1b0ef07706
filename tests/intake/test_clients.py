"""Clients, duplicates, updates, discharge and re-admission, nominated persons, consent."""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import pytest

from services.intake import operations
from services.intake.response_json import client_json
from services.intake.schemas import ClientOut
from shared.identity import Principal
from tests.intake.conftest import SUPERVISOR, IntakeApi


def test_registering_a_client_opens_an_episode_and_writes_one_event(intake: IntakeApi) -> None:
    client = intake.register(
        contact={"phone": "555-0100"},
        nominated_persons=[
            {
                "name": "Sam Rivera",
                "relationship_to_client": "family",
                "may_be_told": ["contact_details"],
            }
        ],
    )
    assert client["reference"].startswith("C-") and client["status"] == "open"
    assert [episode["number"] for episode in client["episodes"]] == [1]
    assert client["nominated_persons"][0]["may_be_told"] == ["contact_details"]
    [event] = intake.events("client.registered.v1")
    assert event["subject"] == f"client/{client['id']}"
    assert event["data"] == {
        "client_id": client["id"],
        "client_reference": client["reference"],
        "episode_id": client["episodes"][0]["id"],
        "programme": None,
        "registered_by": "iw-1",
        "registered_at": event["data"]["registered_at"],
    }
    assert "Rivera" not in str(event)  # events carry identifiers, never names


def test_same_name_and_birth_date_is_a_409_with_the_existing_id_unless_confirmed(
    intake: IntakeApi,
) -> None:
    first = intake.register("José", "O'Neil")
    again = intake.call(
        "POST",
        "/clients",
        json_body={"given_name": "jose", "family_name": "ONeil", "date_of_birth": "1988-04-12"},
    )
    assert again.status_code == 409 and again.content_type == "application/problem+json"
    assert again.json["existing_client_ids"] == [first["id"]]
    assert len(intake.events("client.registered.v1")) == 1
    confirmed = intake.call(
        "POST",
        "/clients",
        json_body={
            "given_name": "jose",
            "family_name": "ONeil",
            "date_of_birth": "1988-04-12",
            "confirmed_not_duplicate": True,
        },
    )
    assert confirmed.status_code == 201 and confirmed.json["id"] != first["id"]


def test_the_same_person_registered_at_once_from_several_desks_becomes_one_client(
    intake: IntakeApi,
) -> None:
    """A double-submitted form or two desks at once: the duplicate check must see the other
    registration, not race past it and leave two records of one person."""
    callers = 6
    start = threading.Barrier(callers)
    token = intake.token("iw-1", "intake_worker")

    def register() -> Any:
        http = intake.http.application.test_client()
        start.wait()
        return http.post(
            "/clients",
            json={"given_name": "Sam", "family_name": "Okafor", "date_of_birth": "1979-02-03"},
            headers={"Authorization": f"Bearer {token}"},
        )

    with ThreadPoolExecutor(callers) as pool:
        responses = list(pool.map(lambda _: register(), range(callers)))
    created = [response.json for response in responses if response.status_code == 201]
    assert len(created) == 1, [response.status_code for response in responses]
    refused = [response for response in responses if response.status_code != 201]
    assert {response.status_code for response in refused} == {409}
    assert all(r.json["existing_client_ids"] == [created[0]["id"]] for r in refused)
    assert len(intake.events("client.registered.v1")) == 1


def test_different_people_registered_at_once_get_distinct_references_in_the_format(
    intake: IntakeApi,
) -> None:
    """References are claimed without a lock held to commit (PostgreSQL: a sequence), so several
    desks register side by side; each still gets its own ``C-<number>``."""
    callers = 6
    start = threading.Barrier(callers)
    token = intake.token("iw-1", "intake_worker")

    def register(n: int) -> Any:
        http = intake.http.application.test_client()
        start.wait()
        return http.post(
            "/clients",
            json={"given_name": f"Desk{n}", "family_name": "Person", "date_of_birth": "1979-02-03"},
            headers={"Authorization": f"Bearer {token}"},
        )

    with ThreadPoolExecutor(callers) as pool:
        responses = list(pool.map(register, range(callers)))
    assert [response.status_code for response in responses] == [201] * callers
    references = [response.json["reference"] for response in responses]
    assert len(set(references)) == callers
    assert all(re.fullmatch(r"C-\d+", reference) for reference in references), references


def test_bad_client_input_is_a_422_naming_fields_and_writes_nothing(intake: IntakeApi) -> None:
    response = intake.call(
        "POST",
        "/clients",
        json_body={
            "given_name": "",
            "date_of_birth": "12/04/1988",
            "contact": {"email": "not-an-email"},
            "surprise": 1,
        },
    )
    assert response.status_code == 422
    fields = response.json["errors"]["json"]
    assert {"given_name", "family_name", "date_of_birth", "contact", "surprise"} <= set(fields)
    assert intake.events() == []
    assert intake.call("POST", "/clients", json_body=None).status_code in (400, 415, 422)


def test_a_date_of_birth_after_today_or_before_1900_is_refused_everywhere_it_is_written(
    intake: IntakeApi,
) -> None:
    """A future or impossible date of birth would sit in the record, its age and its duplicate
    matching, silently wrong: registration, an update and a correction request refuse it."""
    today = date.today()
    for born in ((today + timedelta(days=2)).isoformat(), "9999-12-31", "1899-12-31", "0001-01-01"):
        registered = intake.call(
            "POST",
            "/clients",
            json_body={"given_name": "Alex", "family_name": "Rivera", "date_of_birth": born},
        )
        assert registered.status_code == 422, (born, registered.json)
        assert "date_of_birth" in registered.json["errors"]["json"]
    assert intake.events() == []
    client = intake.register(dob="1900-01-01")
    patched = intake.call(
        "PATCH", f"/clients/{client['id']}", json_body={"date_of_birth": "9999-12-31"}
    )
    assert patched.status_code == 422 and "date_of_birth" in patched.json["errors"]["json"]
    asked = intake.call(
        "POST",
        f"/clients/{client['id']}/corrections",
        as_=("sup-1", "supervisor"),
        json_body={"field": "date_of_birth", "requested_value": "1066-10-14"},
    )
    assert asked.status_code == 422 and "requested_value" in asked.json["errors"]["json"]
    assert intake.call("GET", f"/clients/{client['id']}").json["date_of_birth"] == "1900-01-01"


def test_update_publishes_the_names_of_changed_fields_only(intake: IntakeApi) -> None:
    client = intake.register()
    response = intake.call(
        "PATCH",
        f"/clients/{client['id']}",
        json_body={
            "preferred_language": "Spanish",
            "given_name": "Alex",
            "advance_statement": "No depot injections.",
        },
    )
    assert response.status_code == 200 and response.json["preferred_language"] == "Spanish"
    [event] = intake.events("client.updated.v1")
    assert event["data"]["changed_fields"] == ["advance_statement", "preferred_language"]
    assert "Spanish" not in str(event) and "depot" not in str(event)


def test_search_finds_by_name_birth_date_and_external_id(intake: IntakeApi) -> None:
    alex = intake.register("Alex", "Rivera", external_id="MRN-1")
    intake.register("Blair", "Chen", "1990-01-01")
    by_name = intake.call("GET", "/clients", query={"name": "rive"}).json["items"]
    assert [c["id"] for c in by_name] == [alex["id"]]
    assert [
        c["id"]
        for c in intake.call("GET", "/clients", query={"external_id": "MRN-1"}).json["items"]
    ] == [alex["id"]]
    assert (
        len(intake.call("GET", "/clients", query={"date_of_birth": "1990-01-01"}).json["items"])
        == 1
    )


def test_search_by_name_matches_within_a_name_or_the_person_key_never_across_them(
    intake: IntakeApi,
) -> None:
    """Given name, family name and person key are searched as one text joined by ``|``; a
    fragment matches within one of them only, wildcards and ``|`` included."""
    renee = intake.register("Renée", "O'Hara", "1975-03-09")
    ana = intake.register("Ana", "Lopez", "1981-07-30")

    def found(name: str) -> list[str]:
        response = intake.call("GET", "/clients", query={"name": name})
        assert response.status_code == 200, response.json
        return [c["id"] for c in response.json["items"]]

    assert found("OHAR") == [renee["id"]]  # the person key drops the apostrophe
    assert found("renee|oh") == [renee["id"]]  # the person key holds both names
    assert found("lopez|1981") == [ana["id"]]
    assert found("ana|lo") == [ana["id"]]
    assert found("ana%lop") == [ana["id"]]  # within the person key "ana|lopez|1981-07-30"
    assert found("Ana|Lopez|1981") == [ana["id"]]
    # Across the join of the family name and the person key: never a match.
    assert found("lopez|ana") == []
    assert found("hara|renee") == []
    assert found("z_an") == []
    assert found("ez%ana") == []
    assert sorted(found("a")) == sorted([renee["id"], ana["id"]])


def test_a_client_is_found_by_exact_reference_and_a_mistyped_filter_is_refused(
    intake: IntakeApi,
) -> None:
    """A crisis alert names only the reference: looking it up finds that one client, not all."""
    clients = [intake.register(f"Person{n}", "Same", f"1970-01-{n + 1:02d}") for n in range(3)]
    wanted = clients[1]
    found = intake.call("GET", "/clients", query={"reference": wanted["reference"]})
    assert found.status_code == 200, found.json
    assert [c["id"] for c in found.json["items"]] == [wanted["id"]]
    prefix = wanted["reference"][:-1]
    assert intake.call("GET", "/clients", query={"reference": prefix}).json["items"] == []
    mistyped = intake.call("GET", "/clients", query={"refrence": wanted["reference"]})
    assert mistyped.status_code == 422
    assert mistyped.content_type == "application/problem+json"
    assert list(mistyped.json["errors"]["query"]) == ["refrence"]
    assert "refrence" in mistyped.json["detail"] and "reference" in mistyped.json["detail"]


def test_search_pages_with_a_cursor(intake: IntakeApi) -> None:
    ids = {intake.register(f"Person{n}", "Same", f"1970-01-{n + 1:02d}")["id"] for n in range(5)}
    first = intake.call("GET", "/clients", query={"limit": 2}).json
    second = intake.call("GET", "/clients", query={"limit": 2, "cursor": first["next_cursor"]}).json
    third = intake.call("GET", "/clients", query={"limit": 2, "cursor": second["next_cursor"]}).json
    seen = [c["id"] for page in (first, second, third) for c in page["items"]]
    assert set(seen) == ids and len(seen) == 5 and third["next_cursor"] is None
    assert intake.call("GET", "/clients", query={"cursor": "garbage!"}).status_code == 422


def test_search_results_are_the_full_records_as_the_schema_dumps_them(intake: IntakeApi) -> None:
    """The search writes its records' JSON itself (``client_json``): field for field what
    ``ClientOut`` dumps, for a record with every part filled in and for a bare one."""
    intake.case_manager("cm-1")
    full = intake.register(
        "Dana",
        "Searchfield",
        "1960-02-29",
        external_id="MRN-77",
        preferred_language="Welsh",
        contact={"phone": "555-0101", "email": "dana@example.org", "address": "1 High St"},
        advance_statement="No depot injections, please.",
        nominated_persons=[
            {
                "name": "Jo Searchfield",
                "relationship_to_client": "carer",
                "phone": "555-0102",
                "may_be_told": ["contact_details", "risk_information"],
            }
        ],
    )
    assert intake.assign(full["id"], "cm-1").status_code == 201
    discharged = intake.call(
        "POST",
        f"/clients/{full['id']}/discharge",
        as_=("cm-1", "case_manager"),
        json_body={"reason_code": "goals_met"},
    )
    assert discharged.status_code == 200, discharged.json
    assert intake.call("POST", f"/clients/{full['id']}/readmit").status_code == 201
    intake.register("Eli", "Searchfield", "1999-12-31")
    admin = Principal(sub="admin-1", roles=frozenset({"admin"}))
    with intake.runtime.unit_of_work() as uow:
        page = operations.search_clients(
            uow,
            admin,
            name="searchfield",
            date_of_birth=None,
            external_id=None,
            limit=50,
            cursor=None,
        )
        schema = ClientOut()
        assert len(page.items) == 2
        for client in page.items:
            assert set(client_json(client)) == set(schema.fields)
            assert client_json(client) == schema.dump(client)
        dumped = json.loads(json.dumps(schema.dump(page.items, many=True)))
    served = intake.call("GET", "/clients", query={"name": "searchfield"})
    assert served.status_code == 200, served.json
    assert served.json["items"] == dumped
    assert len(served.json["items"][0]["episodes"]) == 2


def test_discharge_closes_the_episode_and_readmission_opens_a_new_one(intake: IntakeApi) -> None:
    intake.case_manager("cm-1")
    client = intake.register()
    assert intake.assign(client["id"], "cm-1").status_code == 201
    discharged = intake.call(
        "POST",
        f"/clients/{client['id']}/discharge",
        as_=("cm-1", "case_manager"),
        json_body={"reason_code": "goals_met"},
    )
    assert discharged.status_code == 200 and discharged.json["status"] == "discharged"
    assert discharged.json["episodes"][0]["status"] == "discharged"
    again = intake.call(
        "POST",
        f"/clients/{client['id']}/discharge",
        as_=(SUPERVISOR, "supervisor"),
        json_body={"reason_code": "goals_met"},
    )
    assert again.status_code == 409
    readmitted = intake.call(
        "POST", f"/clients/{client['id']}/readmit", as_=(SUPERVISOR, "supervisor")
    )
    assert readmitted.status_code == 201
    assert [(e["number"], e["status"]) for e in readmitted.json["episodes"]] == [
        (1, "discharged"),
        (2, "open"),
    ]
    assert [e["type"].split(".", 2)[2] for e in intake.events()][-2:] == [
        "client.discharged.v1",
        "client.readmitted.v1",
    ]


def test_nominated_persons_can_be_added_and_removed(intake: IntakeApi) -> None:
    client = intake.register()
    added = intake.call(
        "POST",
        f"/clients/{client['id']}/nominated-persons",
        json_body={
            "name": "Jo",
            "relationship_to_client": "carer",
            "may_be_told": ["risk_information"],
        },
    )
    assert added.status_code == 201
    assert (
        intake.call(
            "DELETE", f"/clients/{client['id']}/nominated-persons/{added.json['id']}"
        ).status_code
        == 204
    )
    assert intake.call("GET", f"/clients/{client['id']}").json["nominated_persons"] == []
    assert (
        intake.call(
            "DELETE", f"/clients/{client['id']}/nominated-persons/{added.json['id']}"
        ).status_code
        == 404
    )
    assert [e["data"]["changed_fields"] for e in intake.events("client.updated.v1")] == [
        ["nominated_persons"]
    ] * 2


def test_consent_is_granted_and_revoked_with_events(intake: IntakeApi) -> None:
    client = intake.register()
    granted = intake.call(
        "POST",
        f"/clients/{client['id']}/consents",
        json_body={
            "organization_id": "housing-first",
            "categories": ["contact_details", "assessment_summary"],
            "starts_on": date.today().isoformat(),
        },
    )
    assert granted.status_code == 201 and granted.json["in_force"] is True
    revoked = intake.call(
        "POST",
        f"/clients/{client['id']}/consents/{granted.json['id']}/revoke",
        json_body={"reason": "client changed their mind"},
    )
    assert revoked.status_code == 200 and revoked.json["in_force"] is False
    assert (
        intake.call(
            "POST",
            f"/clients/{client['id']}/consents/{granted.json['id']}/revoke",
            json_body={"reason": "again"},
        ).status_code
        == 409
    )
    [grant_event] = intake.events("consent.granted.v1")
    [revoke_event] = intake.events("consent.revoked.v1")
    assert grant_event["data"]["organization_id"] == "housing-first"
    assert revoke_event["data"]["reason"] == "revoked"


def test_consent_that_expired_is_announced_as_revoked_exactly_once(intake: IntakeApi) -> None:
    client = intake.register()
    yesterday = date.today() - timedelta(days=1)
    granted = intake.call(
        "POST",
        f"/clients/{client['id']}/consents",
        json_body={
            "organization_id": "therapy-co",
            "categories": ["diagnosis"],
            "starts_on": (yesterday - timedelta(days=30)).isoformat(),
            "expires_on": yesterday.isoformat(),
        },
    )
    assert granted.json["in_force"] is False
    for _ in range(2):
        with intake.runtime.unit_of_work() as uow:
            operations.announce_expired_consents(uow, date.today())
    [event] = intake.events("consent.revoked.v1")
    assert (
        event["data"]["reason"] == "expired" and event["data"]["consent_id"] == granted.json["id"]
    )


@pytest.mark.parametrize("expires", ["2020-01-01", "same"])
def test_consent_must_expire_after_it_starts(intake: IntakeApi, expires: str) -> None:
    client = intake.register()
    today = date.today().isoformat()
    response = intake.call(
        "POST",
        f"/clients/{client['id']}/consents",
        json_body={
            "organization_id": "x",
            "categories": ["diagnosis"],
            "starts_on": today,
            "expires_on": today if expires == "same" else expires,
        },
    )
    assert response.status_code == 422 and "expires_on" in response.json["errors"]["json"]
