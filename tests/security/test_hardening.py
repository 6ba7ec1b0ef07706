"""Issue 14, item 6: answers are never cached or type-sniffed, gunicorn does not name itself, and
an address that keeps sending wrong credentials is slowed down with a 429."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.intake.conftest import IntakeApi
from tests.support.backends import Backend
from tests.support.platform import wait_until
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 3


@pytest.fixture
def guarded(backend: Backend, data_dir: Path) -> Iterator[IntakeApi]:
    api = IntakeApi.start("intake", backend, data_dir, auth_failure_limit=LIMIT)
    yield api
    api.runtime.database.dispose()


def test_every_answer_is_marked_no_store_and_nosniff(guarded: IntakeApi) -> None:
    answers = [
        guarded.call("GET", "/clients"),
        guarded.call("GET", "/clients/no-such-client"),
        guarded.call("POST", "/clients", json_body={"given_name": 1}),
        guarded.call("GET", "/clients", as_=None),
        guarded.call("GET", "/healthz", as_=None),
        guarded.call("GET", "/openapi.json", as_=None),
    ]
    assert [a.status_code for a in answers] == [200, 404, 422, 401, 200, 200]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"


def _bad_token(api: IntakeApi, address: str = "203.0.113.7") -> int:
    answer = api.http.get(
        "/clients",
        headers={"Authorization": "Bearer not-a-token"},
        environ_base={"REMOTE_ADDR": address},
    )
    return int(answer.status_code)


def test_an_address_sending_wrong_tokens_is_answered_429_past_the_limit(
    guarded: IntakeApi,
) -> None:
    assert [_bad_token(guarded) for _ in range(LIMIT)] == [401] * LIMIT
    refused = guarded.http.get(
        "/clients",
        headers={"Authorization": f"Bearer {guarded.token('admin-1', 'admin')}"},
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
    )
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert _bad_token(guarded, "198.51.100.9") == 401  # another address is not held back
    valid = guarded.http.get(
        "/clients",
        headers={"Authorization": f"Bearer {guarded.token('admin-1', 'admin')}"},
        environ_base={"REMOTE_ADDR": "198.51.100.9"},
    )
    assert valid.status_code == 200


def test_a_missing_token_is_not_counted_as_a_guess(guarded: IntakeApi) -> None:
    for _ in range(LIMIT * 2):
        answer = guarded.http.get("/clients", environ_base={"REMOTE_ADDR": "203.0.113.8"})
        assert answer.status_code == 401
    assert _bad_token(guarded, "203.0.113.8") == 401


def test_a_wrong_api_key_counts_like_a_wrong_token(backend: Backend, data_dir: Path) -> None:
    from tests.referrals.conftest import ReferralsApi

    api = ReferralsApi.start("referrals", backend, data_dir, auth_failure_limit=LIMIT)
    try:
        statuses = [
            api.http.get(
                "/partner/referrals",
                headers={"X-Api-Key": "wrong-key"},
                environ_base={"REMOTE_ADDR": "203.0.113.9"},
            ).status_code
            for _ in range(LIMIT + 1)
        ]
    finally:
        api.runtime.database.dispose()
    assert statuses == [401] * LIMIT + [429]


def test_gunicorn_does_not_name_itself(tmp_path: Path) -> None:
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")},
        "CASEHUB_DATA_DIR": str(tmp_path),
        "CASEHUB_BROKER_URL": "filesystem://",
        "CASEHUB_LOG_LEVEL": "WARNING",
    }
    api = subprocess.Popen(
        [
            *(sys.executable, "-m", "services.cli", "api", "intake", "--host", "127.0.0.1"),
            *("--port", str(port), "--workers", "1"),
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def answers() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok
            except requests.RequestException:
                return False

        assert wait_until(answers, timeout=60)
        answer = requests.get(f"http://127.0.0.1:{port}/clients", timeout=10)
        assert answer.status_code == 401
        assert "Server" not in answer.headers
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        api.send_signal(signal.SIGTERM)
        api.wait(timeout=60)


def test_refused_attempts_on_a_clients_record_are_in_the_audit_trail(guarded: IntakeApi) -> None:
    client_id = guarded.register()["id"]
    answers = [
        guarded.call("GET", f"/clients/{client_id}", as_=("cm-9", "case_manager")),
        guarded.call("GET", f"/clients/{client_id}", as_=("partner-1", "partner")),
        guarded.http.get(f"/clients/{client_id}", headers={"Authorization": "Bearer forged"}),
    ]
    assert [answer.status_code for answer in answers] == [404, 403, 401]
    trail = guarded.call(
        "GET", "/audit", as_=("admin-1", "admin"), query={"client_id": client_id, "limit": 200}
    ).json
    refused = [e for e in trail["items"] if e["action"] == "access.refused"]
    assert [(e["actor"], e["detail"]["status"]) for e in refused] == [
        ("cm-9", 404),
        ("partner-1", 403),
        ("unauthenticated", 401),
    ]
