"""What the web app promises every page: sign-in first, CSRF on forms, a strict CSP, no caching
of client data, safe cookies, the development sign-in only where it belongs, sessions that end,
and an API's refusal or outage told in plain words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from services.web.app import COOKIE, create_app
from services.web.config import OidcSettings, WebSettings
from services.web.sessions import TOUCH_EVERY, WEB_SESSIONS, SessionStore
from shared.db import Database
from tests.support.backends import Backend
from tests.web.conftest import Person, web_settings


def test_pages_send_people_to_sign_in_and_back(offline_app) -> None:  # type: ignore[no-untyped-def]
    person = Person(offline_app)
    answer = person.get("/clients/abc?x=1")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/sign-in?next=/clients/abc?x%3D1"
    person.get("/sign-in")
    signed = person.post("/sign-in/development", {"person": "cm-ana", "next": "/inbox"})
    assert signed.headers["Location"] == "/inbox"
    elsewhere = person.post("/sign-in/development", {"person": "cm-ana", "next": "//evil.example"})
    assert elsewhere.headers["Location"] == "/caseload"


def test_forms_without_the_session_s_csrf_token_are_refused(offline_app) -> None:  # type: ignore[no-untyped-def]
    person = Person(offline_app)
    person.sign_in("cm-ana")
    forged = person.http.post("/notifications/n1/acknowledge", data={"csrf_token": "guess"})
    assert forged.status_code == 400
    assert person.http.post("/sign-out").status_code == 400


def test_every_page_has_a_strict_policy_and_client_pages_are_not_cached(offline_app) -> None:  # type: ignore[no-untyped-def]
    person = Person(offline_app)
    page = person.get("/sign-in")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["Cache-Control"] == "no-store"
    assert "<script>" not in page.get_data(as_text=True)  # no inline script anywhere
    assert person.get("/static/htmx.min.js").status_code == 200


def test_the_session_cookie_is_http_only_same_site_and_renewed_at_sign_in(offline_app) -> None:  # type: ignore[no-untyped-def]
    person = Person(offline_app)
    first = person.get("/sign-in").headers["Set-Cookie"]
    assert "HttpOnly" in first and "SameSite=Lax" in first
    assert "Secure" not in first  # plain HTTP on loopback only
    before = person.http.get_cookie(COOKIE).value
    person.post("/sign-in/development", {"person": "cm-ana"})
    after = person.http.get_cookie(COOKIE).value
    assert after != before
    assert len(after) >= 40 and "cm-ana" not in after  # an opaque id, no data in the cookie


def test_cookies_are_secure_when_the_app_is_served_over_https(data_dir: Path) -> None:
    settings = web_settings(data_dir, public_url="https://casehub.example.org", bind_host="0.0.0.0")
    assert settings.secure_cookies


def test_the_development_sign_in_exists_only_on_the_embedded_default_on_loopback(
    data_dir: Path,
) -> None:
    assert web_settings(data_dir).development_sign_in
    exposed = web_settings(data_dir, bind_host="0.0.0.0")
    assert not exposed.development_sign_in and "no identity provider" in str(
        exposed.startup_problem()
    )
    on_postgres = WebSettings.from_env(
        {"WEB_DATABASE_URL": "postgresql://db/web", "CASEHUB_DATA_DIR": str(data_dir)}
    )
    assert not on_postgres.development_sign_in
    app = create_app(web_settings(data_dir, bind_host="0.0.0.0"))
    person = Person(app)
    page = person.get("/sign-in").get_data(as_text=True)
    assert "Development sign-in" not in page
    assert person.post("/sign-in/development", {"person": "admin-demo"}).status_code == 404
    with_provider = web_settings(
        data_dir,
        oidc=OidcSettings("https://id.example.org/.well-known/openid-configuration", "web", "s"),
    )
    assert not with_provider.development_sign_in and with_provider.startup_problem() is None


def test_an_unreachable_service_is_said_in_plain_words_with_retry(offline_app) -> None:  # type: ignore[no-untyped-def]
    person = Person(offline_app)
    person.sign_in("cm-ana")
    answer = person.get("/caseload")
    assert answer.status_code == 503
    assert "please retry in a moment" in answer.get_data(as_text=True)


def _session_store(backend: Backend, data_dir: Path) -> SessionStore:
    """Sessions as the app keeps them: 15 minutes idle, 12 hours at most."""
    store = SessionStore(
        Database(backend.new_database("sessions", data_dir)),
        idle=timedelta(minutes=15),
        lifetime=timedelta(hours=12),
    )
    store.create_schema()
    return store


def test_sessions_end_after_the_idle_timeout_and_the_absolute_lifetime(
    backend: Backend, data_dir: Path
) -> None:
    store = _session_store(backend, data_dir)
    start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    session = store.new(start, {"sub": "cm-ana"})
    session.changed = True
    store.save(session, start)
    assert store.load(session.id, start + timedelta(minutes=14)) is not None
    active = start
    for _ in range(60):  # active all day: every 14 minutes
        active += timedelta(minutes=14)
        loaded = store.load(session.id, active)
        if loaded is None:
            break
        store.save(loaded, active)
    assert active - start > timedelta(hours=11) and active - start <= timedelta(
        hours=12, minutes=14
    )
    idle = store.new(start, {"sub": "cm-ben"})
    idle.changed = True
    store.save(idle, start)
    assert store.load(idle.id, start + timedelta(minutes=16)) is None
    assert store.load("not-a-session", start) is None
    store.database.dispose()


def test_an_unchanged_session_is_written_once_a_minute_and_never_outlives_its_idle_time(
    backend: Backend, data_dir: Path
) -> None:
    """Most pages change nothing in the session: they leave its activity unwritten until it is a
    minute old, so the idle timeout may come that much early, never late."""
    store = _session_store(backend, data_dir)
    start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    session = store.new(start, {"sub": "cm-ana"})
    session.changed = True
    store.save(session, start)

    def seen() -> datetime:
        with store.database.engine.connect() as connection:
            moment = connection.execute(select(WEB_SESSIONS.c.last_seen_at)).scalar_one()
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    soon = start + TOUCH_EVERY - timedelta(seconds=1)
    loaded = store.load(session.id, soon)
    assert loaded is not None
    store.save(loaded, soon)
    assert seen() == start  # nothing written
    loaded.set("flash", [{"text": "Saved.", "kind": "info"}])
    store.save(loaded, soon)
    assert seen() == soon  # a change is written at once, with the activity
    later = soon + TOUCH_EVERY
    loaded = store.load(session.id, later)
    assert loaded is not None
    store.save(loaded, later)
    assert seen() == later
    # Active every 50 s without a change for an hour, then idle: never later than 15 minutes.
    moment = later
    for _ in range(72):
        moment += timedelta(seconds=50)
        loaded = store.load(session.id, moment)
        assert loaded is not None
        store.save(loaded, moment)
    assert store.load(session.id, moment + timedelta(minutes=14)) is not None
    assert store.load(session.id, moment + timedelta(minutes=15, seconds=1)) is None
    store.database.dispose()


def test_an_open_page_checking_for_crisis_alerts_does_not_keep_its_session_alive(
    backend: Backend, data_dir: Path
) -> None:
    """The crisis banner's check every half minute is not activity: a screen left open and
    unattended still times out, though a token refreshed during a check is kept."""
    store = _session_store(backend, data_dir)
    start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    session = store.new(start, {"sub": "cm-ana", "access_token": "first"})
    session.changed = True
    store.save(session, start)
    moment = start
    for check in range(40):  # 20 minutes of checks, nothing else
        moment += timedelta(seconds=30)
        loaded = store.load(session.id, moment)
        if moment - start > timedelta(minutes=15):
            assert loaded is None, f"check {check} found the session past its idle time"
            break
        assert loaded is not None
        if check == 10:
            loaded.set("access_token", "refreshed")
        store.save(loaded, moment, activity=False)
    else:
        raise AssertionError("the checks never ended")
    with store.database.engine.connect() as connection:
        assert connection.execute(select(WEB_SESSIONS)).first() is None
    # The refreshed token was written by a check, without counting as activity.
    again = store.new(start, {"sub": "cm-ana", "access_token": "first"})
    again.changed = True
    store.save(again, start)
    loaded = store.load(again.id, start + timedelta(minutes=5))
    assert loaded is not None
    loaded.set("access_token", "refreshed")
    store.save(loaded, start + timedelta(minutes=5), activity=False)
    reloaded = store.load(again.id, start + timedelta(minutes=14))
    assert reloaded is not None and reloaded.data["access_token"] == "refreshed"
    assert reloaded.last_seen_at == start
    assert store.load(again.id, start + timedelta(minutes=15, seconds=1)) is None
    store.database.dispose()
