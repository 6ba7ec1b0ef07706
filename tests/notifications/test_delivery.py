"""Delivery: retries and a visible failure, signed webhooks, the inbox, preferences and rules."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from services.notifications import domain, operations
from services.notifications.channels import (
    CLIENT_TEMPLATES,
    PARTNER_TEMPLATES,
    TEMPLATES,
    ChannelConfig,
    render,
)
from tests.notifications.conftest import CASE_MANAGER, NOW, SUPERVISOR, NotificationsApi
from tests.support.ports import free_port


def test_smtp_failure_is_retried_with_backoff_then_fails_visibly(
    notifications: NotificationsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFICATIONS_SMTP_PORT", str(free_port()))  # nothing listens there
    notifications.person(CASE_MANAGER)
    notifications.risk_flagged("moderate")
    moment = NOW
    for attempt in range(1, domain.MAX_ATTEMPTS + 1):
        assert notifications.dispatch(moment) == 1
        assert notifications.dispatch(moment) == 0  # not again before the backoff
        moment += domain.retry_delay(attempt)
    [failed] = notifications.call("GET", "/deliveries", query={"status": "failed"}).json["items"]
    assert failed["attempts"] == domain.MAX_ATTEMPTS and failed["channel"] == "email"
    assert len(failed["attempt_log"]) == domain.MAX_ATTEMPTS
    assert all(not attempt["succeeded"] for attempt in failed["attempt_log"])
    [event] = notifications.events("notification.failed.v1")
    assert event["data"]["delivery_id"] == failed["id"]
    assert "casehub_notification_deliveries_failed_total" in notifications.http.get("/metrics").text


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize(  # the receiver listens on 127.0.0.1: the development setting, explicitly
    "notifications", [{"allow_private_webhooks": True}], indirect=True, ids=["loopback-webhooks"]
)
def test_webhook_delivery_is_signed_with_the_recipients_secret(
    notifications: NotificationsApi,
) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = "s3cret-s3cret-s3cret"
    _Receiver.received.clear()
    try:
        notifications.person(
            CASE_MANAGER,
            channels=["webhook", "in_app"],
            email=None,
            webhook_url=f"http://127.0.0.1:{server.server_port}/hook",
            webhook_secret=secret,
        )
        notifications.person(SUPERVISOR)
        notifications.risk_flagged("high")
        notifications.dispatch(NOW)
    finally:
        server.shutdown()
    [(headers, body)] = _Receiver.received
    expected = hmac.new(
        secret.encode(), headers["X-Casehub-Timestamp"].encode() + b"." + body, hashlib.sha256
    )
    assert headers["X-Casehub-Signature"] == f"sha256={expected.hexdigest()}"
    payload = json.loads(body)
    assert payload["data"]["urgency"] == "urgent" and "C-1042" in payload["data"]["subject"]


@pytest.mark.parametrize("template", sorted(set(TEMPLATES) - PARTNER_TEMPLATES - CLIENT_TEMPLATES))
def test_templates_show_only_the_client_reference_and_escape_html(template: str) -> None:
    subject, body = render(
        template,
        client_reference="<b>C-1</b>",
        app_url="https://casehub.example",
        notification_id="n-1",
        escalation_level=1,
        when="Tuesday 1 December 2026 at 14:00",
        video=True,
    )
    assert "<b>" not in subject + body and "&lt;b&gt;C-1&lt;/b&gt;" in subject + body
    for clinical in ("PHQ", "GAD", "C-SSRS", "suicid", "diagnos", "score"):
        assert clinical.lower() not in (subject + body).lower()


@pytest.mark.parametrize("template", sorted(CLIENT_TEMPLATES))
def test_client_templates_hold_the_time_only(template: str) -> None:
    """What reaches a client's phone or mailbox names no reference, place or anything clinical."""
    subject, body = render(
        template,
        client_reference="C-1",
        app_url="https://casehub.example",
        notification_id="n-1",
        when="<i>Tuesday</i>",
        video=False,
    )
    assert "C-1" not in subject + body and "casehub.example" not in body
    assert "&lt;i&gt;Tuesday&lt;/i&gt;" in body


@pytest.mark.parametrize("template", sorted(PARTNER_TEMPLATES))
def test_partner_templates_name_no_client_and_escape_html(template: str) -> None:
    subject, body = render(
        template,
        client_reference="C-1",
        app_url="https://casehub.example",
        notification_id="n-1",
        escalation_level=0,
        event={"subscription_id": "<b>w-1</b>", "failed_attempts": 9, "failing_since": "t"},
    )
    assert "C-1" not in subject + body and "&lt;b&gt;w-1&lt;/b&gt;" in body


def test_inbox_lists_my_items_and_marks_them_read(notifications: NotificationsApi) -> None:
    notifications.person(CASE_MANAGER)
    notifications.risk_flagged("moderate")
    me = (CASE_MANAGER, "case_manager")
    [item] = notifications.call("GET", "/me/notifications", as_=me, query={"unread": True}).json[
        "items"
    ]
    assert (
        notifications.call(
            "POST", f"/me/notifications/{item['delivery_id']}/read", as_=me
        ).status_code
        == 204
    )
    unread = notifications.call("GET", "/me/notifications", as_=me, query={"unread": True}).json
    assert unread == {"items": [], "next_cursor": None}
    assert (
        notifications.call(
            "POST", f"/me/notifications/{item['delivery_id']}/read", as_=(SUPERVISOR, "supervisor")
        ).status_code
        == 404
    )
    assert notifications.call("GET", "/me/notifications", as_=None).status_code == 401


def test_the_inbox_pages_newest_first_and_every_item_comes_once(
    notifications: NotificationsApi,
) -> None:
    notifications.person(CASE_MANAGER)
    for _ in range(3):
        notifications.risk_flagged("moderate")
    me = (CASE_MANAGER, "case_manager")
    first = notifications.call("GET", "/me/notifications", as_=me, query={"limit": 2}).json
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = notifications.call(
        "GET", "/me/notifications", as_=me, query={"limit": 2, "cursor": first["next_cursor"]}
    ).json
    items = first["items"] + rest["items"]
    assert rest["next_cursor"] is None and len({item["delivery_id"] for item in items}) == 3
    created = [item["created_at"] for item in items]
    assert created == sorted(created, reverse=True)


def test_people_set_their_own_preferences_and_admins_anyone(
    notifications: NotificationsApi,
) -> None:
    me = (CASE_MANAGER, "case_manager")
    saved = notifications.call(
        "PUT",
        "/me/preferences",
        as_=me,
        json_body={
            "email": "me@agency.example",
            "channels": ["email", "in_app"],
            "quiet_start": "22:00:00",
            "quiet_end": "06:00:00",
            "time_zone": "Europe/London",
        },
    )
    assert saved.status_code == 200 and saved.json["quiet_start"] == "22:00:00"
    assert notifications.call("GET", "/me/preferences", as_=me).json["email"] == "me@agency.example"
    assert (
        notifications.call(
            "PUT", "/users/cm-2/preferences", as_=me, json_body={"email": "x@y.org"}
        ).status_code
        == 403
    )
    bad = notifications.call("PUT", "/me/preferences", as_=me, json_body={"channels": ["pigeon"]})
    assert bad.status_code == 422
    for zone in ("Mars/Olympus_Mons", "../../etc/passwd", "", " Europe/London", "x" * 65):
        refused = notifications.call(
            "PUT", "/me/preferences", as_=me, json_body={"time_zone": zone}
        )
        assert refused.status_code == 422, (zone, refused.json)
        assert "time_zone" in str(refused.json), refused.json
    kept = notifications.call("GET", "/me/preferences", as_=me).json
    assert kept["time_zone"] == "Europe/London"  # nothing of a refused change was stored


def test_admins_change_rules_and_supervisors_can_read_them(notifications: NotificationsApi) -> None:
    rules = notifications.call("GET", "/rules", as_=(SUPERVISOR, "supervisor")).json["items"]
    crisis = next(rule for rule in rules if rule["levels"] == ["high"])
    assert crisis["urgency"] == "urgent" and crisis["escalate_after_minutes"] == 15
    changed = notifications.call(
        "PATCH", f"/rules/{crisis['id']}", json_body={"escalate_after_minutes": 5}
    )
    assert changed.status_code == 200 and changed.json["escalate_after_minutes"] == 5
    assert (
        notifications.call(
            "PATCH",
            f"/rules/{crisis['id']}",
            as_=(SUPERVISOR, "supervisor"),
            json_body={"active": False},
        ).status_code
        == 403
    )
    notifications.person(CASE_MANAGER)
    notifications.person(SUPERVISOR)
    notifications.risk_flagged("high")
    assert notifications.escalate(NOW + timedelta(minutes=5, seconds=1)) == 1


@pytest.mark.parametrize(
    ("levels", "change"),
    [
        (["high"], {"active": False}),
        (["high"], {"urgency": "priority"}),
        (["high"], {"escalate_after_minutes": None}),
        (["moderate"], {"active": False}),
    ],
)
def test_no_one_can_switch_off_the_path_of_a_risk_flag(
    notifications: NotificationsApi, levels: list[str], change: dict[str, Any]
) -> None:
    """An admin may tune who hears of a risk flag and how, but not make it reach no one or
    stop it escalating: the change is a 409 and the rule is unchanged."""
    rules = notifications.call("GET", "/rules").json["items"]
    rule = next(r for r in rules if r["levels"] == levels)
    refused = notifications.call("PATCH", f"/rules/{rule['id']}", json_body=change)
    assert refused.status_code == 409 and refused.json["reason"] == "risk_rule_protected"
    after = next(
        r for r in notifications.call("GET", "/rules").json["items"] if r["id"] == rule["id"]
    )
    assert after == rule
    notifications.person(CASE_MANAGER)
    level = "high" if levels == ["high"] else "moderate"
    notifications.risk_flagged(level)
    assert notifications.dispatch(NOW) >= 1


def test_other_rules_can_be_switched_off(notifications: NotificationsApi) -> None:
    rules = notifications.call("GET", "/rules").json["items"]
    review = next(r for r in rules if r["event_type"] == "planning.review.due.v1")
    off = notifications.call("PATCH", f"/rules/{review['id']}", json_body={"active": False})
    assert off.status_code == 200 and off.json["active"] is False


def test_openapi_documents_every_operation(notifications: NotificationsApi) -> None:
    spec = notifications.http.get("/openapi.json").json
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            assert operation.get("summary") or operation.get("description"), (method, path)
            assert operation["security"] == [{"bearerAuth": []}], (method, path)
            if "requestBody" in operation:
                assert "example" in operation["requestBody"]["content"]["application/json"], (
                    method,
                    path,
                )


def test_the_delivery_log_pages_through_every_delivery_with_its_attempts(
    notifications: NotificationsApi,
) -> None:
    """No silent cap: page by page, every delivery appears once, each with its own attempts."""
    for person in (CASE_MANAGER, "sup-1"):
        notifications.person(person)
    for _ in range(4):
        notifications.risk_flagged("high")
    notifications.dispatch(NOW)
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = notifications.call("GET", "/deliveries", query=query).json
        assert len(page["items"]) <= 3
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len({d["id"] for d in seen}) >= 8
    emailed = [d for d in seen if d["channel"] == "email" and d["status"] == "delivered"]
    assert emailed and all(len(d["attempt_log"]) == 1 for d in emailed)


def test_dispatcher_keeps_its_smtp_connection_between_runs_until_idle(
    notifications: NotificationsApi,
) -> None:
    notifications.person(CASE_MANAGER)
    config = ChannelConfig.from_env()
    dispatcher = operations.Dispatcher(lambda: NOW, idle_seconds=0)

    def run() -> int:
        with notifications.runtime.units_of_work_on_one_connection() as unit_of_work:
            return dispatcher.run(unit_of_work, config)

    try:
        notifications.risk_flagged("moderate")
        assert run() == 1
        notifications.risk_flagged("moderate")
        assert run() == 1  # the next alert's run: same connection, no new greeting
        assert run() == 0  # nothing sent and idle (for 0 s here): the connection is closed
        notifications.risk_flagged("moderate")
        assert run() == 1
    finally:
        dispatcher.close()
    mailbox = notifications.mailbox
    assert mailbox is not None
    first, second, third = mailbox.peers
    assert first == second and third != first


def test_the_inbox_gives_the_open_urgent_alerts_however_many_items_are_newer(
    notifications: NotificationsApi,
) -> None:
    """The crisis banner asks for these: an older alert nobody acknowledged must not drop off
    behind a page of newer, ordinary items."""
    notifications.person(CASE_MANAGER)
    me = (CASE_MANAGER, "case_manager")
    notifications.risk_flagged("high", now=NOW)
    for n in range(3):
        notifications.risk_flagged(
            "moderate",
            now=NOW + timedelta(minutes=n + 1),
            client_id=f"c-{n}",
            client_reference=f"C-20{n}",
        )
    newest = notifications.call("GET", "/me/notifications", as_=me, query={"limit": 2}).json
    assert all(item["urgency"] != "urgent" for item in newest["items"])
    query = {"urgent": True, "unacknowledged": True, "limit": 2}
    [alert] = notifications.call("GET", "/me/notifications", as_=me, query=query).json["items"]
    assert alert["urgency"] == "urgent" and alert["client_reference"] == "C-1042"
    acknowledged = notifications.call(
        "POST", f"/notifications/{alert['notification_id']}/acknowledge", as_=me
    )
    assert acknowledged.status_code == 200, acknowledged.json
    left = notifications.call("GET", "/me/notifications", as_=me, query=query).json
    assert left == {"items": [], "next_cursor": None}
    everything = notifications.call("GET", "/me/notifications", as_=me, query={"limit": 10}).json
    assert len(everything["items"]) == 4


def test_one_inbox_item_is_read_by_its_notification_and_only_by_its_recipient(
    notifications: NotificationsApi,
) -> None:
    notifications.person(CASE_MANAGER)
    me = (CASE_MANAGER, "case_manager")
    notifications.risk_flagged("high")
    [listed] = notifications.call("GET", "/me/notifications", as_=me).json["items"]
    path = f"/me/notifications/{listed['notification_id']}"
    one = notifications.call("GET", path, as_=me)
    assert one.status_code == 200 and one.json == listed
    assert notifications.call("GET", path, as_=("cm-someone-else", "case_manager")).status_code == (
        404
    )
    assert notifications.call("GET", "/me/notifications/no-such", as_=me).status_code == 404
