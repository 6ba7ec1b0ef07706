"""A keyboard-only run of the assessment form in Chromium: Tab, arrows, Space and Enter, with
the focus visible on every stop, and the C-SSRS asking Q3-Q5 only once Q2 is yes. The web app
serves on a real socket; the services answer in-process (their own apps and workers)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.support.ports import free_port
from tests.web.conftest import WebPlatform

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def served(web_platform: WebPlatform) -> Iterator[str]:
    port = free_port()
    server = make_server("127.0.0.1", port, web_platform.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


def test_the_assessment_form_works_with_the_keyboard_alone(
    web_platform: WebPlatform, served: str
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail("the browser tests need Debian's chromium (apt-get install chromium)")
    client = web_platform.api("intake").post(
        "/clients",
        headers=web_platform.as_("iw-demo", "intake_worker"),
        json={"given_name": "Sam", "family_name": "Chen", "date_of_birth": "1990-02-03"},
    )
    assert client.status_code == 201, client.json
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"{served}/sign-in")
        focused_button = (
            "document.activeElement.tagName == 'BUTTON' ? document.activeElement.textContent : ''"
        )
        while "Ivy Walsh" not in page.evaluate(focused_button):
            page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{served}/intake")
        page.goto(f"{served}/clients/{client.json['id']}/assessments/new")
        assert page.locator("input[name=cssrs_method]").first.is_hidden()
        seen: set[str] = set()
        for _ in range(400):
            page.keyboard.press("Tab")
            focused = page.evaluate(
                """() => { const e = document.activeElement;
                  return {name: e.name || '', tag: e.tagName, text: e.textContent || '',
                          outline: getComputedStyle(e).outlineStyle}; }"""
            )
            name = focused["name"]
            if focused["tag"] == "BODY":  # between the page and the browser's own controls
                continue
            assert focused["outline"] != "none", f"no visible focus on {focused['tag']} {name}"
            if name and name in seen:
                continue
            seen.add(name)
            if name == "domain_housing":  # no need -> met need -> unmet need
                page.keyboard.press("ArrowRight")
                page.keyboard.press("ArrowRight")
            elif name.startswith(("phq9_", "gad7_")):  # "Not at all", then right to the 4th
                page.keyboard.press("Space")
                for _ in range(3 if name.startswith("phq9_") else 1):
                    page.keyboard.press("ArrowRight")
            elif name in (
                "cssrs_wish_to_be_dead",
                "cssrs_suicidal_thoughts",
                "cssrs_method",
                "cssrs_intent",
            ):
                page.keyboard.press("Space")  # yes
            elif name in ("cssrs_plan_with_intent", "cssrs_behaviour_ever"):
                page.keyboard.press("Space")
                page.keyboard.press("ArrowRight")  # no
            elif focused["tag"] == "BUTTON" and "Save assessment" in focused["text"]:
                # The form posts and the browser navigates to the result; wait for that
                # navigation itself (the form page counts as loaded until it starts).
                with page.expect_navigation():
                    page.keyboard.press("Enter")
                break
        else:
            raise AssertionError(f"never reached the save button; focused {sorted(seen)}")
        assert "cssrs_method" in seen  # Q3 became reachable once Q2 was yes
        shown = page.inner_text("main")
        assert "Risk: High" in shown and "C-SSRS Q4" in shown and "27 (Severe)" in shown, shown
        browser.close()
