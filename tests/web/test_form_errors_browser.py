"""A refused form in Chromium: the error summary is read first (it has the focus), each of its
lines links to the field it is about and puts the cursor there, the field says the same beside
it (aria-describedby, aria-invalid), and axe-core finds nothing serious on the page. The
screenshot in docs/user-guide.md comes from here (CASEHUB_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.oidc import ensure_node_modules
from tests.web.conftest import WebPlatform
from tests.web.test_browser import accessible, shot
from tests.web.test_casework import assigned_client, hours_ago
from tests.web.test_casework_browser import CHROMIUM, _sign_in, served

pytestmark = pytest.mark.slow
playwright_api = pytest.importorskip("playwright.sync_api")
__all__ = ["served"]  # the fixture, used by name below


def test_a_refused_form_leads_to_each_field_in_the_browser(
    web_platform: WebPlatform, served: str, tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail("the browser tests need Debian's chromium (apt-get install chromium)")
    ensure_node_modules()
    web_platform.seed_team_and_directory()
    client_id = assigned_client(web_platform, "Alex", "Rivera")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        _sign_in(page, served, "Ana Ortiz")

        page.goto(f"{served}/clients/{client_id}/appointments/new")
        page.get_by_label("Starts").fill(hours_ago(-24))
        page.get_by_label("or video link (https)").fill("http://meet.example.org/room-7")
        page.get_by_label("With whom besides the client (one per line)").fill("Jo Park (sister)")
        page.get_by_role("button", name="Schedule appointment").click()
        summary = page.locator(".error-summary")
        summary.wait_for()
        assert page.title().startswith("Error: Schedule an appointment")
        assert page.evaluate("document.activeElement.className") == "error-summary"
        https = "Enter the video link as a full web address starting with https://."
        assert summary.get_by_role("link").all_inner_texts() == [https]
        video = page.get_by_label("or video link (https)")
        assert video.get_attribute("aria-invalid") == "true"
        described = video.get_attribute("aria-describedby") or ""
        assert page.locator(f"#{described.split()[-1]}").text_content() == f"Error: {https}"
        assert video.input_value() == "http://meet.example.org/room-7"  # nothing typed is lost
        assert page.get_by_label("With whom besides the client (one per line)").input_value() == (
            "Jo Park (sister)"
        )
        accessible(page, "refused appointment form")
        shot(page, "form-errors", tmp_path)
        summary.get_by_role("link").click()
        assert page.evaluate("document.activeElement.id") == "appt-video"

        video.fill("")  # neither a place nor a link: refused beside the place
        page.get_by_role("button", name="Schedule appointment").click()
        page.wait_for_selector("#appt-location-error")
        assert page.get_by_label("Place").get_attribute("aria-invalid") == "true"
        accessible(page, "appointment form refused for having no place")
        page.locator(".error-summary a").click()
        assert page.evaluate("document.activeElement.id") == "appt-location"
        context.close()
        browser.close()
