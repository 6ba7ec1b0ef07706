"""The client's consent to appointment reminders: recorded with one channel and address,
withdrawn at once (the address forgotten), announced to notifications in order, audited."""

from __future__ import annotations

from tests.intake.conftest import IntakeApi


def test_consent_and_withdrawal_are_announced_newest_last(intake: IntakeApi) -> None:
    client = intake.register()
    path = f"/clients/{client['id']}/reminder-consent"
    assert intake.call("GET", path).status_code == 404  # never asked
    given = intake.call("PUT", path, json_body={"channel": "sms", "address": "+15550142"})
    assert given.status_code == 200, given.json
    assert given.json["consented"] is True and given.json["version"] == 1
    withdrawn = intake.call("DELETE", path)
    assert withdrawn.status_code == 200
    assert withdrawn.json["consented"] is False and withdrawn.json["address"] is None
    assert intake.call("GET", path).json["version"] == 2
    announced = [e["data"] for e in intake.events("reminder_consent.changed.v1")]
    assert [(d["consented"], d["channel"], d["address"], d["version"]) for d in announced] == [
        (True, "sms", "+15550142", 1),
        (False, None, None, 2),
    ]
    audit = intake.call(
        "GET", "/audit", as_=("admin-1", "admin"), query={"client_id": client["id"]}
    ).json["items"]
    actions = {entry["action"] for entry in audit}
    assert {"consent_reminders", "withdraw_reminders"} <= actions


def test_the_address_must_fit_the_channel(intake: IntakeApi) -> None:
    client = intake.register()
    path = f"/clients/{client['id']}/reminder-consent"
    for body in (
        {"channel": "sms", "address": "555-0142"},  # not E.164
        {"channel": "email", "address": "+15550142"},
        {"channel": "pigeon", "address": "loft 3"},
        {"channel": "email"},
    ):
        refused = intake.call("PUT", path, json_body=body)
        assert refused.status_code == 422, body
        assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert intake.events("reminder_consent.changed.v1") == []


def test_only_staff_who_may_see_the_client_record_consent(intake: IntakeApi) -> None:
    client = intake.register()
    path = f"/clients/{client['id']}/reminder-consent"
    stranger = intake.call(
        "PUT",
        path,
        json_body={"channel": "email", "address": "alex@home.example"},
        as_=("cm-9", "case_manager"),
    )
    assert stranger.status_code == 404
