"""Refused forms through the Flask test client, against the real services: each refusal said
once, in plain words, beside the field it is about and in a summary at the top linking to it,
and the form back with everything that was typed (the registration's nominated person, a new
goal, the plan's approval, a consent to share)."""

from __future__ import annotations

import html
import re

from tests.support.platform import wait_until
from tests.web.conftest import CASE_MANAGER, PARTNER_ORG, PARTNER_SERVICE, WebPlatform
from tests.web.test_casework import assigned_client
from tests.web.test_plan_review import _assess


def _summary(page: str) -> list[tuple[str, str]]:
    """The error summary's lines as (link, words)."""
    found = page.split('<div class="error-summary"', 1)
    assert len(found) == 2, page[page.find("<main") :][:1500]
    block = found[1].split("</div>", 1)[0]
    return [
        (link, html.unescape(words))
        for link, words in re.findall(r'<li><a href="([^"]+)">([^<]+)</a></li>', block)
    ]


def test_a_refused_registration_keeps_the_nominated_person(web_platform: WebPlatform) -> None:
    web_platform.seed_team_and_directory()
    intake = web_platform.person("iw-demo")
    intake.text("/intake")
    typed = {
        "given_name": "Rosa",
        "family_name": "Lind",
        "date_of_birth": "1979-06-30",
        "email": "rosa-at-example",
        "nominated_name": "Per Lind",
        "nominated_relationship": "carer",
        "nominated_phone": "+46 70 123 45 67",
        "nominated_may_be_told": ["contact_details", "risk_information"],
        "advance_statement": "No depot injections.",
    }
    refused = intake.post("/intake/clients", typed)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    words = "Enter the e-mail address as an e-mail address, like name@example.org."
    assert _summary(page) == [("#email", words)]
    assert page.count(words) == 2  # beside the field and in the summary, nowhere else
    assert 'aria-describedby="email-error" aria-invalid="true"' in page
    assert "json" not in page and "Not a valid" not in page
    for kept in ('value="Per Lind"', 'value="+46 70 123 45 67"', 'value="rosa-at-example"'):
        assert kept in page
    assert '<option value="carer" selected>' in page
    assert 'value="contact_details" checked' in page and 'value="risk_information" checked' in page
    assert 'value="diagnosis" checked' not in page and "No depot injections.</textarea>" in page

    nameless = intake.post(
        "/intake/clients", {**typed, "email": "rosa@example.org", "nominated_name": " "}
    )
    assert nameless.status_code == 422  # details without a name are not silently dropped
    page = nameless.get_data(as_text=True)
    assert _summary(page)[0][0] == "#nom-name" and 'value="+46 70 123 45 67"' in page
    registered = intake.post("/intake/clients", {**typed, "email": "rosa@example.org"})
    assert registered.status_code == 302
    record = intake.text(registered.headers["Location"])
    assert (
        "Per Lind (carer), +46 70 123 45 67 — may be told: Contact details, Risk information"
        in (record)
    )


def test_a_refused_consent_keeps_what_was_typed(web_platform: WebPlatform) -> None:
    web_platform.seed_team_and_directory()
    client_id = assigned_client(web_platform)
    intake = web_platform.person("iw-demo")
    intake.text(f"/clients/{client_id}")
    refused = intake.post(
        f"/clients/{client_id}/consents",
        {
            "organization_id": PARTNER_ORG,
            "categories": ["contact_details"],
            "starts_on": "2026-12-10",
            "expires_on": "2026-12-01",
        },
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    words = "The date it ends must be after the start date."
    assert _summary(page) == [("#consent-end", words)]
    assert 'id="consent-end" type="date" name="expires_on" value="2026-12-01"' in page
    assert 'value="2026-12-10"' in page and f'value="{PARTNER_ORG}"' in page
    assert 'value="contact_details" checked' in page
    assert "none in force" in page  # nothing recorded


def test_a_refused_goal_and_approval_keep_what_was_typed(web_platform: WebPlatform) -> None:
    web_platform.seed_team_and_directory()
    client_id = assigned_client(web_platform, "Jo", "Baker")
    manager = web_platform.person(CASE_MANAGER)
    _assess(manager, client_id, {"housing": "Sofa-surfing since the summer"})
    assert wait_until(lambda: "Open plan" in manager.text(f"/clients/{client_id}"), timeout=30)
    plan_path = manager.get(f"/clients/{client_id}/plan").headers["Location"].split("#")[0]
    plan_id = plan_path.rsplit("/", 1)[-1]
    manager.text(plan_path)

    goal = manager.post(
        f"/plans/{plan_id}/goals",
        {
            "domain": "income",
            "in_own_words": " ",
            "measurable_target": "Benefits restored",
            "target_date": "2027-03-01",
        },
    )
    assert goal.status_code == 422
    page = goal.get_data(as_text=True)
    assert _summary(page) == [("#goal-words", "Enter the goal in the client's words.")]
    assert '<option value="income" selected>' in page
    assert 'value="Benefits restored"' in page and 'value="2027-03-01"' in page
    assert re.search(r'id="goal-words"[^>]*aria-describedby="goal-words-error"', page)

    approval = manager.post(
        f"/plans/{plan_id}/approve",
        {"client_agreed": "yes", "method": "electronic", "present": "", "notes": "By e-mail"},
    )
    assert approval.status_code == 422
    page = approval.get_data(as_text=True)
    assert ("#agree-present", "Enter who was present.") in _summary(page)
    assert '<option value="electronic" selected>' in page and 'value="By e-mail"' in page
    assert 'name="client_agreed" value="yes" required checked' in page
    assert "Plan approved" not in manager.text(plan_path)


def test_a_refused_draft_referral_keeps_what_was_typed(web_platform: WebPlatform) -> None:
    web_platform.seed_team_and_directory()
    client_id = assigned_client(web_platform)
    manager = web_platform.person(CASE_MANAGER)
    manager.text(f"/clients/{client_id}/referrals/new?domain=housing")
    refused = manager.post(
        "/referrals",
        {
            "client_id": client_id,
            "service_id": PARTNER_SERVICE,
            "domain": "everything",
            "assessment_summary": "Unmet need: housing since the summer",
            "contact_details": "+44 7700 900123",
        },
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "<li>Choose the need from the list.</li>" in page  # about the form: summary alone
    assert 'value="Unmet need: housing since the summer"' in page
    assert 'value="+44 7700 900123"' in page
