"""The journey in a real browser (Debian's Chromium driven by Playwright), with every service
as its own process and sign-in through a real OpenID provider: an intake worker registers and
assesses a client at high risk; the case manager signs in, sees the crisis banner,
acknowledges, writes the safety plan, approves the plan and sends a referral; the partner
accepts through its API; the case manager sees it. axe-core checks each screen, and the
screenshots in docs/ come from here (CASEHUB_UPDATE_SCREENSHOTS=1 writes them)."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.backends import Backend
from tests.support.oidc import NODE_DIR, ensure_node_modules
from tests.support.platform import wait_until
from tests.web.live import ROOT, LivePlatform, live_platform

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "docs" / "screenshots"

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def platform(
    backend: Backend, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LivePlatform]:
    # Open pages check for crisis alerts every 2 s here (30 s by default).
    monkeypatch.setenv("WEB_ALERT_POLL_SECONDS", "2")
    with live_platform(backend, data_dir) as running:
        yield running


@pytest.fixture
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "the browser tests need Debian's chromium (apt-get install chromium; .ci/run does)"
        )
    ensure_node_modules()
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


AXE = NODE_DIR / "node_modules" / "axe-core" / "axe.min.js"


def accessible(page: object, screen: str) -> None:
    """axe-core finds no serious or critical WCAG 2.1 A/AA violation on this screen."""
    page.add_script_tag(path=str(AXE))  # type: ignore[attr-defined]
    result = page.evaluate(  # type: ignore[attr-defined]
        "async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})"
    )
    bad = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{screen}: {json.dumps(bad, indent=1)}"


def shot(page: object, name: str, folder: Path) -> None:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)  # type: ignore[attr-defined]
    if os.environ.get("CASEHUB_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SCREENSHOTS / path.name)


def sign_in(page: object, platform: LivePlatform, login: str) -> None:
    page.goto(platform.web_url + "/")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in with your agency account").click()  # type: ignore[attr-defined]
    page.locator("input[name=login]").fill(login)  # type: ignore[attr-defined]
    page.locator("input[name=password]").fill("demo")  # type: ignore[attr-defined]
    page.locator("button[type=submit]").first.click()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(re.escape(platform.web_url) + ".*"))  # type: ignore[attr-defined]


def set_up_team(platform: LivePlatform) -> None:
    """An administrator's machine client sets up the team and the directory through the APIs."""
    admin = "casehub-setup"
    platform.call(
        "intake",
        "PUT",
        "/case-managers/cm-ana",
        admin,
        {"display_name": "Ana Ortiz", "team": "north", "supervisor_id": "sup-maria"},
    )
    platform.call(
        "referrals", "PUT", "/organizations/housing-first", admin, {"name": "Housing First"}
    )
    platform.call(
        "referrals",
        "PUT",
        "/services/tenancy-support",
        admin,
        {
            "organization_id": "housing-first",
            "name": "Tenancy support",
            "domains": ["housing"],
            "languages": ["English"],
        },
    )
    for person in ("cm-ana", "sup-maria"):
        platform.call(
            "notifications", "PUT", f"/users/{person}/preferences", admin, {"channels": ["in_app"]}
        )


def test_journey_from_a_high_risk_assessment_to_an_accepted_referral(
    platform: LivePlatform, browser: object, tmp_path: Path
) -> None:
    set_up_team(platform)
    intake_context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = intake_context.new_page()
    page.goto(platform.web_url + "/sign-in")
    accessible(page, "sign-in")
    sign_in(page, platform, "iw-demo")
    page.goto(platform.web_url + "/no-such-page")
    page.wait_for_selector("text=There is no such page")
    accessible(page, "error page")
    page.goto(platform.web_url + "/intake")
    page.get_by_role("link", name="Register a client").click()
    page.get_by_label("Given name").fill("Alex")
    page.get_by_label("Family name").fill("Rivera")
    page.get_by_label("Date of birth").fill("1988-04-12")
    page.get_by_label("Preferred language").fill("English")
    page.get_by_label("Phone").first.fill("555-0100")
    accessible(page, "register")
    shot(page, "intake-register", tmp_path)
    page.get_by_role("button", name="Register").click()
    page.wait_for_selector("text=Registered Alex Rivera")
    client_url = page.url
    page.get_by_label("Team (when choosing automatically)").fill("north")
    page.get_by_role("button", name="Assign").click()
    page.wait_for_selector("text=Assigned to cm-ana")
    # The case manager has the caseload open while the client is assessed.
    manager_context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    manager = manager_context.new_page()
    sign_in(manager, platform, "cm-ana")
    manager.goto(platform.web_url + "/caseload")
    assert manager.locator(".crisis-banner").count() == 0
    page.get_by_label("Partner organisation id").fill("housing-first")
    page.get_by_label("Contact details").check()
    page.get_by_label("Assessment summary").check()
    page.get_by_role("button", name="Record consent").click()
    page.wait_for_selector("text=Consent to share with housing-first recorded")
    page.get_by_role("link", name="New assessment").click()
    housing = page.get_by_role("group", name="Housing", exact=True)
    housing.get_by_label("Unmet need").check()
    for index in range(9):
        page.locator(f"input[name=phq9_{index}][value='3']").check()
    for index in range(7):
        page.locator(f"input[name=gad7_{index}][value='2']").check()
    assert not page.locator("input[name=cssrs_method]").first.is_visible()  # Q3 waits for Q2
    page.locator("input[name=cssrs_wish_to_be_dead][value=yes]").check()
    page.locator("input[name=cssrs_suicidal_thoughts][value=yes]").check()
    assert page.locator("input[name=cssrs_method]").first.is_visible()
    page.locator("input[name=cssrs_method][value=yes]").check()
    page.locator("input[name=cssrs_intent][value=yes]").check()
    page.locator("input[name=cssrs_plan_with_intent][value=no]").check()
    page.locator("input[name=cssrs_behaviour_ever][value=no]").check()
    accessible(page, "assessment form")
    shot(page, "assessment-form", tmp_path)
    page.get_by_role("button", name="Save assessment").click()
    page.wait_for_selector("text=Risk: High")
    accessible(page, "assessment result")
    shot(page, "assessment-result", tmp_path)

    # The alert reaches the open caseload without a reload (its banner checks by itself).
    manager.wait_for_selector(".crisis-banner", timeout=60_000)
    assert manager.locator(".crisis-offline").is_hidden()
    # seen from another tab too
    manager.wait_for_function("document.title.startsWith('(1) Crisis alert · ')", timeout=5_000)
    # A page that can no longer reach Casehub says it is not checking, until it can again.
    manager_context.set_offline(True)
    manager.wait_for_selector(".crisis-offline", state="visible", timeout=15_000)
    manager_context.set_offline(False)
    manager.wait_for_selector(".crisis-offline", state="hidden", timeout=15_000)
    manager.reload()  # the rows show the new risk
    assert manager.title() == "(1) Crisis alert · Caseload · Casehub"
    assert manager.get_by_role("row", name=re.compile("Alex Rivera")).count() == 1
    accessible(manager, "caseload")
    shot(manager, "caseload-crisis-banner", tmp_path)
    manager.locator(".crisis-banner a").first.click()
    manager.wait_for_selector("text=open risk")
    accessible(manager, "crisis alert")
    shot(manager, "crisis-alert", tmp_path)
    manager.get_by_role("button", name=re.compile("Acknowledge")).click()
    manager.wait_for_selector("text=escalation stopped")
    assert manager.locator(".crisis-banner").count() == 0

    def plan_ready() -> bool:
        manager.goto(client_url)
        return manager.get_by_role("link", name="Open plan").count() == 1

    assert wait_until(plan_ready, timeout=60)
    accessible(manager, "client record")
    shot(manager, "client-record", tmp_path)
    manager.get_by_role("link", name="Open plan").click()
    for label, text in (
        ("1. Warning signs", "Not sleeping"),
        ("2. Internal coping strategies", "Walk by the river"),
        ("3. Distraction people and places", "Library café"),
        ("4. People to ask for help", "Sister: 555-0101"),
        ("5. Professionals and crisis lines", "Crisis line 988"),
        ("6. Making environment safe", "Medication kept by the sister"),
    ):
        manager.get_by_label(label).fill(text)
    manager.get_by_role("button", name="Save safety plan").click()
    manager.wait_for_selector("text=Safety plan saved.")
    for words in manager.get_by_label("In the client's words").all()[:-1]:
        words.fill("A place of my own")
    for status in manager.locator("select[name=status]").all():
        status.select_option("agreed")
    for save in manager.get_by_role("button", name="Save goal").all():
        save.click()
        manager.wait_for_selector("text=Goal saved.")
    manager.get_by_label("The client agrees to this plan").check()
    manager.get_by_label("Who was present (one per line)").fill("Alex Rivera\nAna Ortiz")
    accessible(manager, "plan editor")
    shot(manager, "plan-editor", tmp_path)
    manager.get_by_role("button", name="Approve plan").click()
    manager.wait_for_selector("text=Plan approved")

    manager.goto(client_url)
    manager.get_by_role("link", name="New referral").click()
    manager.get_by_label("Need").select_option("housing")
    with manager.expect_navigation():  # axe is added to the new page, not the one leaving
        manager.get_by_role("button", name="Search the directory").click()
    accessible(manager, "referral directory")
    shot(manager, "referral-directory", tmp_path)
    manager.get_by_role("button", name="Draft referral to Tenancy support").click()
    manager.wait_for_selector("text=Draft referral saved")

    def sent() -> bool:
        if manager.get_by_role("button", name="Send to housing-first").count():
            manager.get_by_role("button", name="Send to housing-first").click()
        return manager.locator("[data-status=requested]").count() == 1

    assert wait_until(sent, timeout=30)
    referral_id = manager.url.rsplit("/", 1)[-1]
    platform.call(
        "referrals",
        "POST",
        f"/partner/referrals/{referral_id}/status",
        "housing-first-system",
        {"status": "accepted"},
    )
    manager.reload()
    assert manager.locator("[data-status=accepted]").count() == 1
    assert manager.get_by_text("housing-first-system").count() >= 1
    accessible(manager, "referral")
    shot(manager, "referral-accepted", tmp_path)

    supervisor_context = browser.new_context(
        bypass_csp=True, viewport={"width": 1280, "height": 900}
    )  # type: ignore[attr-defined]
    supervisor = supervisor_context.new_page()
    sign_in(supervisor, platform, "sup-maria")
    supervisor.goto(platform.web_url + "/team")
    supervisor.wait_for_selector("text=Team dashboard")
    accessible(supervisor, "team dashboard")
    shot(supervisor, "team-dashboard", tmp_path)
    supervisor.goto(platform.web_url + "/reports")
    supervisor.wait_for_selector("text=Caseload against cap")
    accessible(supervisor, "reports")
    shot(supervisor, "reports", tmp_path)
    supervisor.goto(platform.web_url + "/inbox")
    accessible(supervisor, "inbox")
    shot(supervisor, "inbox", tmp_path)
