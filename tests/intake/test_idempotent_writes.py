"""A write retried with the same Idempotency-Key happens once; its first answer is replayed."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Barrier
from typing import Any

from sqlalchemy import func, select, update

from shared.idempotency import RETENTION, remove_expired
from tests.intake.conftest import IntakeApi

ALEX = {"given_name": "Alex", "family_name": "Rivera", "date_of_birth": "1988-04-12"}


def _post(
    intake: IntakeApi, path: str, body: Any, key: str, caller: tuple[str, ...] = ("iw-1",)
) -> Any:
    sub = caller[0]
    role = "intake_worker" if len(caller) == 1 else caller[1]
    return intake.http.post(
        path,
        json=body,
        headers={"Authorization": f"Bearer {intake.token(sub, role)}", "Idempotency-Key": key},
    )


def test_a_retried_registration_replays_the_first_answer_and_registers_once(
    intake: IntakeApi,
) -> None:
    key = str(uuid.uuid4())
    first = _post(intake, "/clients", ALEX, key)
    again = _post(intake, "/clients", ALEX, key)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(intake.events("client.registered.v1")) == 1


def test_the_same_key_on_a_different_request_is_refused_and_changes_nothing(
    intake: IntakeApi,
) -> None:
    key = str(uuid.uuid4())
    assert _post(intake, "/clients", ALEX, key).status_code == 201
    other = _post(intake, "/clients", {**ALEX, "given_name": "Sam"}, key)
    assert other.status_code == 422 and other.content_type == "application/problem+json"
    assert "different request" in other.json["detail"]
    assert len(intake.events("client.registered.v1")) == 1


def test_keys_belong_to_their_caller(intake: IntakeApi) -> None:
    """Another caller's identical key is a new request: no replay of someone else's answer."""
    key = str(uuid.uuid4())
    assert _post(intake, "/clients", ALEX, key).status_code == 201
    sam = _post(intake, "/clients", {**ALEX, "given_name": "Sam"}, key, ("iw-2",))
    assert sam.status_code == 201 and "Idempotent-Replayed" not in sam.headers
    assert len(intake.events("client.registered.v1")) == 2


def test_a_refused_request_leaves_no_claim_so_it_can_be_corrected(intake: IntakeApi) -> None:
    """The claim rolls back with the refused change: the retry runs for real, and so does the
    corrected request sent under the same key."""
    intake.register()
    key = str(uuid.uuid4())
    refused = _post(intake, "/clients", ALEX, key)
    assert refused.status_code == 409  # same name and birth date: confirm or use the record
    again = _post(intake, "/clients", ALEX, key)
    assert again.status_code == 409 and again.json.get("reason") != "idempotency_key_in_use"
    confirmed = _post(intake, "/clients", {**ALEX, "confirmed_not_duplicate": True}, key)
    assert confirmed.status_code == 201 and "Idempotent-Replayed" not in confirmed.headers
    assert len(intake.events("client.registered.v1")) == 2


def test_a_malformed_key_is_a_400_and_reads_ignore_the_header(intake: IntakeApi) -> None:
    for bad in ("x" * 256, "has space", "tab\there"):
        response = _post(intake, "/clients", ALEX, bad)
        assert response.status_code == 400, bad
        assert "Idempotency-Key" in response.json["detail"]
    assert intake.events("client.registered.v1") == []
    listed = intake.http.get(
        "/clients",
        headers={
            "Authorization": f"Bearer {intake.token('iw-1', 'intake_worker')}",
            "Idempotency-Key": "has space",
        },
    )
    assert listed.status_code == 200


def test_the_same_request_sent_several_times_at_once_runs_once(intake: IntakeApi) -> None:
    """A client that retries before the first answer arrives: one registration; the others get
    the stored answer or are told the first is still running (409), never a second client."""
    key, callers = str(uuid.uuid4()), 5
    start = Barrier(callers)
    token = intake.token("iw-1", "intake_worker")

    def send(_: int) -> Any:
        http = intake.http.application.test_client()
        start.wait()
        return http.post(
            "/clients",
            json=ALEX,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        )

    with ThreadPoolExecutor(callers) as pool:
        responses = list(pool.map(send, range(callers)))
    ran = [r for r in responses if r.status_code == 201 and "Idempotent-Replayed" not in r.headers]
    assert len(ran) == 1, [(r.status_code, r.json) for r in responses]
    for response in responses:
        if response.status_code == 201:
            assert response.json == ran[0].json
        else:
            assert response.status_code == 409
            assert response.json["reason"] == "idempotency_key_in_use"
    assert len(intake.events("client.registered.v1")) == 1


def test_claims_older_than_the_retention_window_are_removed(intake: IntakeApi) -> None:
    old, fresh = str(uuid.uuid4()), str(uuid.uuid4())
    assert _post(intake, "/clients", ALEX, old).status_code == 201
    assert _post(intake, "/clients", {**ALEX, "given_name": "Sam"}, fresh).status_code == 201
    runtime = intake.runtime
    table = runtime.spec.tables.idempotency_keys
    with runtime.database.session() as session, session.begin():
        session.execute(
            update(table)
            .where(table.c.key == old)
            .values(created_at=datetime.now(UTC) - RETENTION - timedelta(minutes=1))
        )
    assert remove_expired(runtime.database, table) == 1
    with runtime.database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(table)) == 1
    again = _post(intake, "/clients", ALEX, old)
    assert again.status_code == 409 and "Idempotent-Replayed" not in again.headers
