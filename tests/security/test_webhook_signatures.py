"""What a webhook receiver can rely on, checked on real deliveries of both senders (partner
webhooks of referrals, person webhooks of notifications): ``shared.webhooks.verify`` accepts the
genuine request and refuses a wrong secret, a tampered body, a replay and a forged timestamp."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from services.referrals import operations as referral_operations
from shared.db import utc_now
from shared.outbound import OutboundGuard
from shared.webhooks import DEFAULT_TOLERANCE_SECONDS, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.notifications.conftest import NOW, NotificationsApi
from tests.security.conftest import INSIDERS, PARTNER, start_secured

SECRET = "receiver-secret-0123456789"
Captured = list[tuple[dict[str, str], bytes]]


@contextmanager
def _receiver() -> Iterator[tuple[str, Captured]]:
    """A real HTTP endpoint that records what it receives, as a partner's or a person's would."""
    captured: Captured = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            captured.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", captured
    finally:
        server.shutdown()
        server.server_close()


#: The receivers listen on 127.0.0.1 over http: the development setting, on for these tests only.
LOOPBACK = {"allow_private_webhooks": True}


def _partner_webhook(url: str, tmp_path: Path) -> str:
    """Referrals: Housing First subscribes, a referral is sent to it, the sender delivers."""
    world = start_secured("referrals", tmp_path, **LOOPBACK)
    try:
        response = world.api.http.post(
            "/partner/webhooks",
            json={"url": url, "secret": SECRET},
            headers=INSIDERS[PARTNER].headers(world.settings),
        )
        assert response.status_code == 201
        world.api.referral(world.api.client())
        delivered = referral_operations.deliver_webhooks(
            world.api.runtime.unit_of_work, utc_now, outbound=OutboundGuard(allow_private=True)
        )
        assert delivered > 0
        return world.api.http.get(
            "/partner/webhooks", headers=INSIDERS[PARTNER].headers(world.settings)
        ).get_data(as_text=True)
    finally:
        world.api.runtime.database.dispose()


def _person_webhook(url: str, tmp_path: Path) -> str:
    """Notifications: a case manager is reached by webhook; a crisis alert is dispatched."""
    world = start_secured("notifications", tmp_path, **LOOPBACK)
    api = world.api
    assert isinstance(api, NotificationsApi)
    try:
        saved = api.call(
            "PUT",
            "/users/cm-1/preferences",
            as_=("admin-1", "admin"),
            json_body={
                "channels": ["webhook"],
                "email": None,
                "webhook_url": url,
                "webhook_secret": SECRET,
            },
        )
        assert saved.status_code == 200, saved.json
        api.risk_flagged("high", case_manager="cm-1", supervisor=None)
        api.dispatch(NOW)
        return saved.get_data(as_text=True)
    finally:
        api.runtime.database.dispose()


SENDERS: dict[str, Callable[[str, Path], str]] = {
    "referrals partner webhook": _partner_webhook,
    "notifications person webhook": _person_webhook,
}


@pytest.fixture(scope="module", params=sorted(SENDERS))
def delivery(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, str], bytes, str]:
    """One real signed request as the receiver got it, and the sender's API view of the hook."""
    with _receiver() as (url, captured):
        api_view = SENDERS[request.param](url, tmp_path_factory.mktemp("webhooks"))
    assert captured, "the sender delivered nothing"
    headers, body = captured[0]
    return headers, body, api_view


def test_the_genuine_request_verifies(delivery: tuple[dict[str, str], bytes, str]) -> None:
    headers, body, _ = delivery
    assert headers[SIGNATURE_HEADER].startswith("sha256=")
    assert verify(SECRET, headers, body)


def test_a_wrong_secret_fails(delivery: tuple[dict[str, str], bytes, str]) -> None:
    headers, body, _ = delivery
    assert not verify("another-receivers-secret-000", headers, body)
    assert not verify("", headers, body)


def test_a_tampered_body_fails(delivery: tuple[dict[str, str], bytes, str]) -> None:
    headers, body, _ = delivery
    assert not verify(SECRET, headers, body.replace(b'"', b"'", 1))
    assert not verify(SECRET, headers, body + b" ")
    assert not verify(SECRET, headers, body[:-1])


def test_a_replayed_request_fails_once_its_timestamp_is_old(
    delivery: tuple[dict[str, str], bytes, str],
) -> None:
    headers, body, _ = delivery
    sent_at = int(headers[TIMESTAMP_HEADER])
    assert verify(SECRET, headers, body, now=sent_at + DEFAULT_TOLERANCE_SECONDS)
    assert not verify(SECRET, headers, body, now=sent_at + DEFAULT_TOLERANCE_SECONDS + 1)
    assert not verify(SECRET, headers, body, now=sent_at - DEFAULT_TOLERANCE_SECONDS - 1)


def test_a_refreshed_timestamp_does_not_revive_an_old_signature(
    delivery: tuple[dict[str, str], bytes, str],
) -> None:
    """The timestamp is signed with the body, so a replayer cannot just bump it."""
    headers, body, _ = delivery
    for forged in (int(headers[TIMESTAMP_HEADER]) + 600, "", "soon", "-1"):
        assert not verify(SECRET, {**headers, TIMESTAMP_HEADER: str(forged)}, body)


def test_missing_or_other_scheme_signatures_fail(
    delivery: tuple[dict[str, str], bytes, str],
) -> None:
    headers, body, _ = delivery
    digest = headers[SIGNATURE_HEADER].removeprefix("sha256=")
    assert not verify(SECRET, {TIMESTAMP_HEADER: headers[TIMESTAMP_HEADER]}, body)
    assert not verify(SECRET, {**headers, SIGNATURE_HEADER: digest}, body)
    assert not verify(SECRET, {**headers, SIGNATURE_HEADER: f"sha1={digest}"}, body)


def test_the_secret_travels_in_no_request_and_no_api_answer(
    delivery: tuple[dict[str, str], bytes, str],
) -> None:
    headers, body, api_view = delivery
    assert SECRET.encode() not in body
    assert SECRET not in str(headers)
    assert SECRET not in api_view
