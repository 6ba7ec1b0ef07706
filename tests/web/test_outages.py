"""A page whose calls partly failed says so: the crisis banner when notifications does not
answer (never a quiet page that reads as "no crisis alert waiting"), and a page missing a
service's part (the caseload's overdue reviews, the record's plans and contacts) says it is
incomplete rather than showing empty lists that read as "none". A refusal (a part this person
may not see) is left out quietly, as before."""

from __future__ import annotations

from flask import Flask

from services.web.app import create_app
from services.web.backend import Backend, PooledTransport
from tests.support.ports import free_port
from tests.support.wsgi_transport import WsgiTransport
from tests.web.conftest import CASE_MANAGER, Person, WebPlatform

INCOMPLETE = "Part of this page could not be loaded"


def _app_without(platform: WebPlatform, down: str) -> Flask:
    """The web app on the same running services, but with ``down`` not answering (a real
    connection refused: nothing listens where it points)."""
    settings = platform.settings
    transports = {
        name: WsgiTransport(platform.services[name].create_app(), url)
        for name, url in settings.service_urls.items()
    }
    transports[down] = PooledTransport(f"http://127.0.0.1:{free_port()}", 2.0)
    return create_app(settings, backend=Backend(settings.service_urls, transports=transports))


def _registered_and_assigned(platform: WebPlatform) -> str:
    intake = platform.person("iw-demo")
    registered = intake.post(
        "/intake/clients",
        {"given_name": "Alex", "family_name": "Rivera", "date_of_birth": "1988-04-12"},
    )
    assert registered.status_code == 302, registered.get_data(as_text=True)
    client_id = registered.headers["Location"].rsplit("/", 1)[-1]
    assigned = intake.post(f"/clients/{client_id}/assignment", {"case_manager_id": CASE_MANAGER})
    assert assigned.status_code == 302
    return client_id


def test_a_page_says_when_its_crisis_alerts_could_not_be_checked(
    web_platform: WebPlatform,
) -> None:
    web_platform.seed_team_and_directory()
    manager = Person(_app_without(web_platform, "notifications"))
    manager.sign_in(CASE_MANAGER)
    answer = manager.get("/caseload")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200, page
    assert "Crisis alerts could not be checked" in page
    assert 'class="crisis-banner crisis-unknown" role="alert"' in page
    assert "The notifications service did not answer" in page
    assert "please retry in a moment" in page

    # With notifications answering, and no alert waiting, the page has no banner at all.
    quiet = web_platform.person(CASE_MANAGER).text("/caseload")
    assert 'class="crisis-banner' not in quiet and "could not be checked" not in quiet
    assert INCOMPLETE not in quiet


def test_a_page_missing_a_services_part_says_it_is_incomplete(
    web_platform: WebPlatform,
) -> None:
    web_platform.seed_team_and_directory()
    client_id = _registered_and_assigned(web_platform)
    manager = Person(_app_without(web_platform, "planning"))
    manager.sign_in(CASE_MANAGER)

    caseload = manager.get("/caseload")
    page = caseload.get_data(as_text=True)
    assert caseload.status_code == 200, page
    assert "Alex Rivera" in page  # intake's part is there
    assert INCOMPLETE in page and "The planning service did not answer" in page

    record = manager.get(f"/clients/{client_id}")
    page = record.get_data(as_text=True)
    assert record.status_code == 200, page
    assert "Alex Rivera" in page
    assert INCOMPLETE in page and "The planning service did not answer" in page
    assert page.count("The planning service did not answer") == 1  # said once, not per list

    # Every service answering: the same pages are whole and say nothing of the kind.
    whole = web_platform.person(CASE_MANAGER)
    assert INCOMPLETE not in whole.text("/caseload")
    assert INCOMPLETE not in whole.text(f"/clients/{client_id}")
