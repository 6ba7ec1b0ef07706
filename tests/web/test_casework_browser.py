"""Casework in Chromium: a case manager records and signs a contact with the keyboard alone
(focus visible on every stop), adds an addendum, schedules and attends an appointment, records a
no-show and dismisses its task on "My day", then discharges the client with a summary and sets her quiet hours; the supervisor reads the team worklist. axe-core
checks each new screen, and the casework screenshots in docs/user-guide.md come from here
(CASEHUB_UPDATE_SCREENSHOTS=1 writes them). The web app serves on a real socket; the services
answer in-process (their own apps and workers)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.support.oidc import ensure_node_modules
from tests.support.platform import wait_until
from tests.support.ports import free_port
from tests.web.conftest import CASE_MANAGER, WebPlatform
from tests.web.test_browser import accessible, shot
from tests.web.test_casework import assigned_client, hours_ago

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api")
FOCUSED = """() => { const e = document.activeElement;
  return {name: e.name || '', tag: e.tagName, type: e.type || '', text: e.textContent || '',
          outline: getComputedStyle(e).outlineStyle}; }"""


@pytest.fixture
def served(web_platform: WebPlatform) -> Iterator[str]:
    port = free_port()
    server = make_server("127.0.0.1", port, web_platform.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


def _sign_in(page: object, served: str, name: str) -> None:
    page.goto(f"{served}/sign-in")  # type: ignore[attr-defined]
    page.get_by_role("button", name=re.compile(name)).click()  # type: ignore[attr-defined]
    # Until the sign-in answer arrives the page is still the (loaded) sign-in page: a navigation
    # started before then carries the pre-sign-in cookie, whose session sign-in has just ended.
    page.wait_for_url(lambda url: "/sign-in" not in url)  # type: ignore[attr-defined]


def _fill_contact_form_by_keyboard(page: object) -> set[str]:
    """Tab through the contact form from the top, typing into each field once; Enter posts."""
    keyboard = page.keyboard  # type: ignore[attr-defined]
    typed = {
        "duration_minutes": "30",
        "purpose": "Medication review with the GP",
        "professionals": "GP, Dr Patel",
        "note_data": "GP reports the client takes the medication as prescribed.",
        "note_assessment": "Adherence good; side effects manageable.",
        "note_plan": "Review again at the next home visit.",
    }
    seen: set[str] = set()
    for _ in range(200):
        keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)  # type: ignore[attr-defined]
        name = focused["name"]
        if focused["tag"] == "BODY":
            continue
        assert focused["outline"] != "none", f"no visible focus on {focused['tag']} {name}"
        if name and name in seen:
            continue
        seen.add(name)
        if name == "contact_type":
            keyboard.type("Collateral")  # type-ahead on the closed select
        elif name in typed:
            keyboard.type(typed[name])
        elif name == "sign":
            keyboard.press("Space")
        elif focused["tag"] == "BUTTON" and "Record contact" in focused["text"]:
            with page.expect_navigation():  # type: ignore[attr-defined]
                keyboard.press("Enter")
            return seen
    raise AssertionError(f"never reached the record button; focused {sorted(seen)}")


def test_casework_screens_in_the_browser(
    web_platform: WebPlatform, served: str, tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail("the browser tests need Debian's chromium (apt-get install chromium)")
    ensure_node_modules()
    web_platform.seed_team_and_directory()
    client_id = assigned_client(web_platform, "Alex", "Rivera")
    late = web_platform.api("planning").post(
        "/tasks",
        headers=web_platform.as_(CASE_MANAGER, "case_manager"),
        json={"title": "Send the tenancy letter", "due_on": "2026-01-05", "priority": "high"},
    )
    assert late.status_code == 201, late.json
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        _sign_in(page, served, "Ana Ortiz")

        # a contact, keyboard only
        page.goto(f"{served}/clients/{client_id}")
        page.get_by_role("link", name="Record a contact").click()
        page.wait_for_selector("h1:has-text('Record a contact')")
        accessible(page, "contact form")
        seen = _fill_contact_form_by_keyboard(page)
        assert {"contact_type", "occurred_at", "participants", "goal_ids"} - seen <= {"goal_ids"}
        page.wait_for_selector("text=Contact recorded and signed.")
        assert page.locator("[data-status=signed]").count() == 1
        assert page.get_by_role("button", name="Save draft note").count() == 0
        assert page.locator("textarea[name^=note_]").count() == 0
        assert "Collateral contact" in page.inner_text("h1")
        page.get_by_label(re.compile("^Addendum")).fill("The GP's surname is Patel-Shah.")
        accessible(page, "signed contact")
        page.get_by_role("button", name="Add addendum").click()
        page.wait_for_selector("text=Addendum added.")
        assert page.get_by_text("Patel-Shah").count() == 1
        shot(page, "contact-signed", tmp_path)

        # an appointment, attended into its contact
        page.goto(f"{served}/clients/{client_id}")
        page.get_by_role("link", name="Schedule an appointment").click()
        page.get_by_label("Starts").fill(hours_ago(2))
        page.get_by_label("Place").fill("Riverside clinic, room 2")
        page.get_by_label("With whom besides the client (one per line)").fill("Housing officer")
        accessible(page, "appointment form")
        page.get_by_role("button", name="Schedule appointment").click()
        page.wait_for_selector("text=Appointment booked")
        accessible(page, "appointment")
        shot(page, "appointment", tmp_path)
        page.get_by_role("button", name="Record as attended").click()
        page.wait_for_selector("text=its contact is recorded below")
        assert "Face to face contact" in page.inner_text("h1")
        page.get_by_role("link", name="the appointment").click()
        assert page.locator("[data-status=attended]").count() == 1

        # a no-show lands on My day
        page.goto(f"{served}/clients/{client_id}/appointments/new")
        page.get_by_label("Place").fill("Client's flat")
        page.get_by_role("button", name="Schedule appointment").click()
        page.wait_for_selector("text=Appointment booked")
        page.get_by_label("What is known of the no-show").fill("No answer at the door")
        page.get_by_role("button", name="Record no-show").click()
        page.wait_for_selector("text=follow-up task is on your worklist")
        assert page.get_by_text("No answer at the door").count() == 1

        page.goto(f"{served}/clients/{client_id}#contacts")
        accessible(page, "client record with casework")
        shot(page, "client-casework", tmp_path)

        page.get_by_role("link", name="My day").click()
        page.wait_for_selector("h1:has-text('My day')")
        assert page.locator("tr[data-source=no_show]").count() == 1
        assert "Send the tenancy letter" in page.locator("tr[data-source=manual]").inner_text()
        accessible(page, "my day")
        shot(page, "my-day", tmp_path)
        no_show = page.locator("tr[data-source=no_show]")
        no_show.get_by_label("Reason to dismiss").fill("Client phoned; rebooked for Friday")
        no_show.get_by_role("button", name=re.compile("^Dismiss")).click()
        page.wait_for_selector("text=the reason is recorded")
        assert page.locator("tr[data-source=no_show]").count() == 0

        page.goto(f"{served}/caseload")
        assert page.get_by_role("columnheader", name="Last contact").count() == 1

        # the case closed with its discharge summary
        page.goto(f"{served}/clients/{client_id}")
        page.get_by_role("link", name="Discharge", exact=True).click()
        page.wait_for_selector("h1:has-text('Discharge')")
        accessible(page, "discharge form")
        page.get_by_label("Reason", exact=True).select_option("goals_met")
        page.get_by_label("Services received (one per line)").fill("Case management\nGP liaison")
        page.get_by_label("Follow-up after discharge").fill("GP review in four weeks")
        page.get_by_role("button", name="Discharge and close the case").click()
        page.wait_for_selector("text=Discharged: the case is closed and its summary kept.")
        assert page.get_by_text("GP liaison").count() == 1
        accessible(page, "discharge summary")

        def handed_over() -> bool:  # once planning has heard of the discharge
            page.goto(f"{served}/clients/{client_id}")
            return page.get_by_text("No longer on your caseload").count() == 1

        assert wait_until(handed_over, timeout=15)
        assert page.get_by_role("link", name="Record a contact").count() == 0
        accessible(page, "the former case manager's read-only record")

        page.goto(f"{served}/inbox")
        page.get_by_role("link", name="How you are reached").click()
        page.get_by_label("Quiet hours from").fill("21:30")
        page.get_by_label("Quiet hours until").fill("07:00")
        accessible(page, "preferences")
        page.get_by_role("button", name="Save").click()
        page.wait_for_selector("text=Saved: this is how Casehub reaches you now.")
        context.close()

        supervising = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
        supervisor = supervising.new_page()
        _sign_in(supervisor, served, "Maria Santos")
        supervisor.get_by_role("link", name="Team worklist").click()
        supervisor.wait_for_selector("text=north: 1 late task")
        assert supervisor.get_by_text("Send the tenancy letter").count() == 1
        accessible(supervisor, "team worklist")
        shot(supervisor, "team-worklist", tmp_path)
        supervising.close()
        browser.close()
