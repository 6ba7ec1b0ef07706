"""The client record in one request: the same contents as the five reads a record screen made,
first pages that continue at each list's own endpoint, and the same audit trail."""

from __future__ import annotations

from typing import Any

from tests.intake.conftest import IntakeApi
from tests.intake.test_assessments import CALM_PHQ9, NEEDS

ADMIN = ("admin-1", "admin")
HIGH_RISK = {
    "wish_to_be_dead": True,
    "suicidal_thoughts": True,
    "method": False,
    "intent": True,
    "plan_with_intent": False,
    "behaviour_ever": False,
}


def _assess(intake: IntakeApi, client_id: str, **instruments: Any) -> dict[str, Any]:
    made = intake.call(
        "POST", f"/clients/{client_id}/assessments", json_body={"domains": NEEDS, **instruments}
    )
    assert made.status_code == 201, made.json
    return made.json


def _audit(intake: IntakeApi, client_id: str) -> list[dict[str, Any]]:
    return intake.call("GET", "/audit", as_=ADMIN, query={"client_id": client_id}).json["items"]


def test_the_record_holds_what_the_five_reads_hold(intake: IntakeApi) -> None:
    client = intake.register()
    cid = client["id"]
    consent = intake.call(
        "POST",
        f"/clients/{cid}/consents",
        json_body={
            "organization_id": "housing-first",
            "categories": ["contact_details"],
            "starts_on": "2026-01-01",
        },
    )
    assert consent.status_code == 201, consent.json
    original = _assess(intake, cid, phq9={"items": CALM_PHQ9})
    amended = intake.call(
        "POST",
        f"/clients/{cid}/assessments/{original['id']}/amendments",
        json_body={"domains": NEEDS, "phq9": {"items": CALM_PHQ9}, "cssrs": HIGH_RISK},
    )
    assert amended.status_code == 201, amended.json
    reminders = intake.call(
        "PUT",
        f"/clients/{cid}/reminder-consent",
        json_body={"channel": "sms", "address": "+15550142"},
    )
    assert reminders.status_code == 200, reminders.json

    record = intake.call("GET", f"/clients/{cid}/record")
    assert record.status_code == 200, record.json
    body = record.json
    assert body["client"] == intake.call("GET", f"/clients/{cid}").json
    assert body["consents"] == intake.call("GET", f"/clients/{cid}/consents").json
    assert body["assessments"] == intake.call("GET", f"/clients/{cid}/assessments").json
    assert body["risk_flags"] == intake.call("GET", f"/clients/{cid}/risk-flags").json
    assert body["reminder_consent"] == intake.call("GET", f"/clients/{cid}/reminder-consent").json
    first, second = body["assessments"]["items"]
    assert first["superseded_by_id"] == second["id"] and second["superseded_by_id"] is None
    assert body["risk_flags"]["items"], "the amended C-SSRS raised a flag"


def test_a_client_never_asked_about_reminders_has_none(intake: IntakeApi) -> None:
    client = intake.register()
    body = intake.call("GET", f"/clients/{client['id']}/record").json
    assert body["reminder_consent"] is None
    assert body["consents"] == {"items": [], "next_cursor": None}
    assert body["assessments"] == {"items": [], "next_cursor": None}


def test_a_long_list_continues_at_its_own_endpoint(intake: IntakeApi) -> None:
    client = intake.register()
    cid = client["id"]
    made = [_assess(intake, cid)["id"] for _ in range(3)]
    first = intake.call("GET", f"/clients/{cid}/record", query={"limit": 2}).json["assessments"]
    assert [a["id"] for a in first["items"]] == made[:2] and first["next_cursor"]
    rest = intake.call(
        "GET", f"/clients/{cid}/assessments", query={"cursor": first["next_cursor"]}
    ).json
    assert [a["id"] for a in rest["items"]] == made[2:] and rest["next_cursor"] is None
    assert intake.call("GET", f"/clients/{cid}/record", query={"limit": 0}).status_code == 422
    assert intake.call("GET", f"/clients/{cid}/record", query={"limit": 201}).status_code == 422


def test_the_read_is_audited_as_the_five_reads_and_a_refused_one_not_at_all(
    intake: IntakeApi,
) -> None:
    client = intake.register()
    cid = client["id"]
    intake.call(
        "PUT",
        f"/clients/{cid}/reminder-consent",
        json_body={"channel": "sms", "address": "+15550142"},
    )
    before = len(_audit(intake, cid))
    assert intake.call("GET", f"/clients/{cid}/record").status_code == 200
    rows = _audit(intake, cid)
    read = [row for row in rows if row["detail"].get("via") == "record"]
    assert len(read) == 5 and len(rows) == before + 5
    assert sorted(row["entity"] for row in read) == [
        "assessment",
        "client",
        "consent",
        "reminder_consent",
        "risk_flag",
    ]
    assert {(row["actor"], row["action"]) for row in read} == {("iw-1", "read")}
    stranger = intake.call("GET", f"/clients/{cid}/record", as_=("cm-9", "case_manager"))
    assert stranger.status_code == 404
    assert stranger.headers["Content-Type"].startswith("application/problem+json")
    by_stranger = [row["action"] for row in _audit(intake, cid) if row["actor"] == "cm-9"]
    assert by_stranger == ["access.refused"]  # the refusal is on the trail; no read is
