"""The plan's suggested changes and the client's reminder consent in Chromium, axe-core checking
each state (waiting for the review, deciding at it, a refused reason and a refused number beside
their fields). The screenshots of both in docs/user-guide.md come from here
(CASEHUB_UPDATE_SCREENSHOTS=1 writes them). The web app serves on a real socket; the services
answer in-process (their own apps and workers)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.oidc import ensure_node_modules
from tests.web.conftest import WebPlatform
from tests.web.test_browser import accessible, shot
from tests.web.test_casework_browser import CHROMIUM, _sign_in, served
from tests.web.test_plan_review import plan_with_suggestions

pytestmark = pytest.mark.slow
playwright_api = pytest.importorskip("playwright.sync_api")
__all__ = ["served"]


def _described_by(page: object, field: object) -> str:
    """The text of every element the field names in aria-describedby (what a screen reader adds)."""
    ids = (field.get_attribute("aria-describedby") or "").split()  # type: ignore[attr-defined]
    return " ".join(page.locator(f"#{name}").inner_text() for name in ids)  # type: ignore[attr-defined]


def test_suggested_changes_and_reminder_consent_in_the_browser(
    web_platform: WebPlatform, served: str, tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail("the browser tests need Debian's chromium (apt-get install chromium)")
    ensure_node_modules()
    _manager, client_id, plan_path = plan_with_suggestions(web_platform)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        _sign_in(page, served, "Ana Ortiz")

        page.goto(f"{served}{plan_path}")
        page.get_by_role("link", name="2 to decide").click()
        section = page.locator("#suggested-changes")
        assert "To decide at the next review" in section.inner_text()
        accessible(page, "plan with suggested changes waiting for the review")
        page.get_by_role("button", name="Start the review now").click()
        page.wait_for_selector("text=Review started")
        assert page.url.endswith("#suggested-changes")
        shot(page, "plan-suggested-changes", tmp_path)

        reason = page.get_by_label("Reason to dismiss relationships (required)")
        reason.fill("no")
        page.get_by_role("button", name="Dismiss relationships").click()
        page.wait_for_selector(".field-error")
        reason = page.get_by_label("Reason to dismiss relationships (required)")
        assert reason.get_attribute("aria-invalid") == "true"
        assert "must be from 3 to 500 characters long" in _described_by(page, reason)
        accessible(page, "a refused reason to dismiss")
        reason.fill("Family support is in place")
        page.get_by_role("button", name="Dismiss relationships").click()
        page.wait_for_selector("text=the reason is recorded")
        page.get_by_role("button", name="Take up income as a goal").click()
        page.wait_for_selector("text=Income taken up")
        assert page.locator("[data-status=taken_up]").count() == 1
        assert page.locator("[data-status=dismissed]").count() == 1
        page.goto(f"{served}{plan_path}#suggested-changes")
        accessible(page, "suggested changes decided at the review")

        page.goto(f"{served}/clients/{client_id}#reminders")
        page.get_by_label("Text message (SMS)").check()
        page.get_by_label("E-mail address or mobile number").fill("555-0142")
        page.get_by_role("button", name="Save consent to reminders").click()
        page.wait_for_selector("#reminder-address-error")
        address = page.get_by_label("E-mail address or mobile number")
        assert "E.164" in _described_by(page, address)
        accessible(page, "a refused reminder number")
        address.fill("+447700900123")
        page.get_by_role("button", name="Save consent to reminders").click()
        page.wait_for_selector("text=Consent to appointment reminders recorded")
        assert page.locator("[data-reminders=agreed]").count() == 1
        page.goto(f"{served}/clients/{client_id}#reminders")
        accessible(page, "client record with reminder consent")
        shot(page, "client-reminders", tmp_path)
        page.get_by_role("button", name=re.compile("^Withdraw consent")).click()
        page.wait_for_selector("text=Consent to reminders withdrawn")
        assert page.locator("[data-reminders=withdrawn]").count() == 1
        context.close()
        browser.close()
