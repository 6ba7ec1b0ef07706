"""The crisis banner on an open page: the page asks again every half minute, so an alert
raised while someone reads it reaches them there; an unchanged banner is not sent again; an
acknowledgement clears it at once; the check neither keeps a session alive nor uses up a
message meant for the next page; a session that ended is said so, and the checks stop."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, update

from services.web.app import create_app
from services.web.config import WebSettings
from services.web.sessions import WEB_SESSIONS
from tests.support.platform import wait_until
from tests.web.conftest import CASE_MANAGER, Person, WebPlatform, wsgi_backend
from tests.web.test_outages import _registered_and_assigned
from tests.web.test_screens import HIGH_RISK_FORM

CHECK = re.compile(r'<div id="crisis-banner" hx-get="([^"]+)" hx-trigger="every (\d+)s')


def _check_of(page: str) -> str:
    found = CHECK.search(page)
    assert found, page[:1500]
    return html.unescape(found[1])


def test_an_alert_raised_while_a_page_is_open_reaches_it_without_a_reload(
    web_platform: WebPlatform,
) -> None:
    web_platform.seed_team_and_directory()
    client_id = _registered_and_assigned(web_platform)
    manager = web_platform.person(CASE_MANAGER)
    caseload = manager.text("/caseload")
    assert "Crisis alert" not in caseload
    found = CHECK.search(caseload)
    assert found and found[2] == "30", "the page checks every 30 s by default"
    check = _check_of(caseload)
    assert manager.get(check).status_code == 204  # nothing new: the banner stays as it is

    intake = web_platform.person("iw-demo")
    assert intake.post(f"/clients/{client_id}/assessments", HIGH_RISK_FORM).status_code == 200

    def banner_arrives() -> bool:
        return manager.get(check).status_code == 200

    assert wait_until(banner_arrives, timeout=30)
    answer = manager.get(check)
    banner = answer.get_data(as_text=True)
    assert "Crisis alert waiting for you" in banner and 'role="alert"' in banner
    assert "<html" not in banner and "<main" not in banner  # the banner alone
    assert answer.headers["Cache-Control"] == "no-store"
    shown = _check_of(banner)
    assert shown != check
    assert manager.get(shown).status_code == 204  # the same alert is not announced again
    assert "Crisis alert waiting for you" in manager.text("/caseload")

    inbox = manager.text("/inbox")
    notification_id = re.findall(r"/notifications/([0-9a-f-]{36})/acknowledge", inbox)[0]
    acknowledged = manager.post(
        f"/notifications/{notification_id}/acknowledge", headers={"HX-Request": "true"}
    )
    assert acknowledged.headers["HX-Trigger"] == "crisis-banner-changed"  # checked at once
    cleared = manager.get(shown)
    assert cleared.status_code == 200
    assert "Crisis alert" not in cleared.get_data(as_text=True)
    assert manager.get(_check_of(cleared.get_data(as_text=True))).status_code == 204


def test_the_check_is_not_activity_and_leaves_messages_for_the_next_page(
    web_platform: WebPlatform,
) -> None:
    web_platform.seed_team_and_directory()
    manager = web_platform.person(CASE_MANAGER)
    check = _check_of(manager.text("/caseload"))
    engine = create_engine(web_platform.settings.database_url)
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    try:
        with engine.begin() as connection:
            connection.execute(update(WEB_SESSIONS).values(last_seen_at=long_ago))

        def last_seen() -> datetime:
            with engine.connect() as connection:
                moment = connection.execute(WEB_SESSIONS.select()).one().last_seen_at
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

        assert manager.get(check).status_code == 204
        assert last_seen() == long_ago  # an open, unattended page still times out

        # A message for the next page survives a check made before that page is shown.
        assert manager.get("/clients?reference=C-NOBODY").status_code == 302
        assert manager.get(check).status_code == 204
        assert "No client with reference C-NOBODY" in manager.text("/caseload")
        assert last_seen() > long_ago  # a page the person opened is activity

        # Idle past the timeout: the check says the person is signed out, and stops.
        with engine.begin() as connection:
            connection.execute(
                update(WEB_SESSIONS).values(last_seen_at=datetime.now(UTC) - timedelta(hours=1))
            )
        ended = manager.get(check)
        assert ended.status_code == 286  # htmx's "stop polling"
        words = ended.get_data(as_text=True)
        assert "You are signed out" in words and "no longer shows crisis alerts" in words
        assert "hx-get" not in words
    finally:
        engine.dispose()


def test_the_check_can_be_turned_off(
    web_platform: WebPlatform,
) -> None:
    web_platform.seed_team_and_directory()
    never_signed_in = Person(web_platform.app).get("/crisis-banner")
    assert never_signed_in.status_code == 286 and "hx-get" not in never_signed_in.get_data(
        as_text=True
    )

    assert WebSettings.from_env({}).alert_poll_seconds == 30
    assert WebSettings.from_env({"WEB_ALERT_POLL_SECONDS": "5"}).alert_poll_seconds == 5
    settings = replace(web_platform.settings, alert_poll_seconds=0)
    manager = Person(create_app(settings, backend=wsgi_backend(web_platform.services, settings)))
    manager.sign_in(CASE_MANAGER)
    page = manager.text("/caseload")
    assert '<div id="crisis-banner">' in page and "hx-get" not in page


def test_on_call_sees_what_reached_on_call_in_its_banner_and_its_queue(
    web_platform: WebPlatform,
) -> None:
    """A client nobody is assigned yet is assessed at high risk: the alert goes to on-call at
    once, and the on-call worker's open page shows it without a reload, until acknowledged."""
    web_platform.seed_team_and_directory()
    on_call = Person(web_platform.app)
    on_call.sign_in("on-call-demo")
    page = on_call.text("/on-call")
    assert "None: every alert that reached on-call has been acknowledged." in page
    assert "None in the last 24 hours." in page  # the handover
    check = _check_of(page)
    assert on_call.get(check).status_code == 204

    intake = web_platform.person("iw-demo")
    registered = intake.post(
        "/intake/clients",
        {"given_name": "Sam", "family_name": "Okafor", "date_of_birth": "1990-02-03"},
    )
    client_id = registered.headers["Location"].rsplit("/", 1)[-1]
    assert intake.post(f"/clients/{client_id}/assessments", HIGH_RISK_FORM).status_code == 200

    assert wait_until(lambda: on_call.get(check).status_code == 200, timeout=30)
    banner = on_call.get(check).get_data(as_text=True)
    assert "Crisis alert waiting for you" in banner
    queue = on_call.text("/on-call")
    [notification_id] = re.findall(
        r'href="/notifications/([0-9a-f-]{36})"', queue[queue.find("queue-title") :]
    )
    reference = re.search(r"C-\d+", queue[queue.find("queue-title") :])
    assert reference is not None
    assert f"/clients/{client_id}/emergency-access" in queue
    audit = web_platform.api("notifications")

    def reads_of_the_alert() -> int:
        rows = audit.get(
            "/audit",
            headers=web_platform.as_("admin-1", "admin"),
            query_string={"actor": "on-call-demo", "client_id": client_id, "limit": 200},
        ).json["items"]
        return sum(row["entity_id"] == notification_id and row["action"] == "read" for row in rows)

    read_before = reads_of_the_alert()
    on_call.text("/on-call")  # its list and its banner show the alert: read (and audited) once
    assert reads_of_the_alert() == read_before + 1
    alert = on_call.text(f"/notifications/{notification_id}")  # the alert opens for on-call
    assert "URGENT: crisis alert for client" in alert and "Waiting for on-call since" in alert
    assert f"/clients/{client_id}/emergency-access" in alert and "Acknowledge" in alert
    acknowledged = on_call.post(f"/notifications/{notification_id}/acknowledge")
    assert acknowledged.status_code == 302
    after = on_call.text("/on-call")
    assert "None: every alert that reached on-call has been acknowledged." in after
    assert 'class="crisis-banner"' not in after
    handover = after[after.find("handover-title") :]
    assert f"/notifications/{notification_id}" in handover and "by on-call-demo" in handover
    assert reference.group() in handover
    taken = on_call.text(f"/notifications/{notification_id}")  # from the email, later on
    assert "Acknowledged" in taken and "by on-call-demo" in taken
    assert "Acknowledge: I am acting on this" not in taken

    glass = f"/clients/{client_id}/emergency-access"
    on_call.text(glass)
    for said in ("", "x", "   urgent   "):  # a reason the audit could make nothing of
        refused = on_call.post(glass, {"reason": said})
        page = refused.get_data(as_text=True)
        assert refused.status_code == 422 and "at least 10 characters" in page
        assert "Emergency access until" not in page
    opened = on_call.post(glass, {"reason": "Crisis call: client at risk tonight"})
    assert opened.status_code == 200, opened.get_data(as_text=True)[-800:]
    assert "Emergency access until" in opened.get_data(as_text=True)
