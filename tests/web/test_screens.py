"""The screens through the Flask test client, against the four real services and their
workers: what each role sees and does, the crisis banner, and the API's words on refusal."""

from __future__ import annotations

import re

from tests.support.platform import wait_until
from tests.web.conftest import CASE_MANAGER, PARTNER_ORG, PARTNER_SERVICE, SUPERVISOR, WebPlatform

HIGH_RISK_FORM = {
    "domain_housing": "unmet_need",
    "notes_housing": "sofa-surfing",
    **{f"phq9_{i}": "3" for i in range(9)},
    **{f"gad7_{i}": "2" for i in range(7)},
    "cssrs_wish_to_be_dead": "yes",
    "cssrs_suicidal_thoughts": "yes",
    "cssrs_method": "yes",
    "cssrs_intent": "yes",
    "cssrs_plan_with_intent": "no",
    "cssrs_behaviour_ever": "no",
}
SAFETY_PLAN = {
    "warning_signs": "Not sleeping",
    "internal_coping_strategies": "Walk by the river",
    "distraction_people_and_places": "Library café",
    "people_to_ask_for_help": "Sister: 555-0101",
    "professionals_and_crisis_lines": "Crisis line 988",
    "making_environment_safe": "Medication kept by the sister",
}


def _client_id(location: str) -> str:
    return location.rsplit("/", 1)[-1]


def test_the_day_from_intake_to_a_sent_referral_accepted_by_the_partner(
    web_platform: WebPlatform,
) -> None:
    web_platform.seed_team_and_directory()
    intake = web_platform.person("iw-demo")
    registration = {"given_name": "Alex", "family_name": "Rivera", "date_of_birth": "1988-04-12"}
    registered = intake.post("/intake/clients", {**registration, "preferred_language": "English"})
    assert registered.status_code == 302
    client_id = _client_id(registered.headers["Location"])
    # the same person again: the duplicate warning, then "not a duplicate" registers a second
    warned = intake.post("/intake/clients", registration)
    assert warned.status_code == 409
    page = warned.get_data(as_text=True)
    assert "Possible duplicate" in page and f"/clients/{client_id}" in page
    confirmed = intake.post("/intake/clients", {**registration, "confirmed_not_duplicate": "yes"})
    assert confirmed.status_code == 302 and _client_id(confirmed.headers["Location"]) != client_id
    record = intake.text(f"/clients/{client_id}")
    assert f'<option value="{CASE_MANAGER}">Ana Ortiz — 0/' in record  # whom intake may choose
    reference = re.search(r"C-\d+", record)
    assert reference
    typed = intake.get(f"/clients?reference=%20{reference.group().lower()}%20")  # as typed
    assert typed.status_code == 302 and typed.headers["Location"].endswith(f"/clients/{client_id}")
    assigned = intake.post(f"/clients/{client_id}/assignment", {"case_manager_id": CASE_MANAGER})
    assert assigned.status_code == 302
    intake.post(
        f"/clients/{client_id}/consents",
        {"organization_id": PARTNER_ORG, "categories": ["contact_details", "assessment_summary"]},
    )
    record = intake.text(f"/clients/{client_id}")
    assert f"Assigned to {CASE_MANAGER}" in record
    assert "housing-first: assessment summary, contact details" in record, record[
        record.find("<main") :
    ][:1500]
    form = intake.text(f"/clients/{client_id}/assessments/new")
    assert form.count('name="domain_') == 13 * 3 and "C-SSRS" in form
    result = intake.post(f"/clients/{client_id}/assessments", HIGH_RISK_FORM)
    assert result.status_code == 200
    shown = result.get_data(as_text=True)
    assert "Risk: High" in shown and "PHQ-9</dt><dd>27" in shown.replace("\n", "")
    scores = intake.text(f"/clients/{client_id}")  # the record's table names each band
    assert "<td>27 (severe)</td><td>14 (moderate)</td>" in scores

    manager = web_platform.person(CASE_MANAGER)
    assert wait_until(lambda: 'class="crisis-banner"' in manager.text("/caseload"), timeout=30)
    caseload = manager.text("/caseload")
    assert "Alex Rivera" in caseload and "risk-high" in caseload
    # the search is posted (a name is client data, never in a URL); htmx swaps the rows only
    found = manager.post("/caseload", {"q": "rivera", "risk": "high"}, headers={"HX-Request": "1"})
    rows = found.get_data(as_text=True)
    assert "1 of 1 clients" in rows and "Alex Rivera" in rows and "<html" not in rows
    assert "0 of 1 clients" in manager.post("/caseload", {"q": "nobody"}).get_data(as_text=True)
    inbox = manager.text("/inbox")
    notification_id = re.findall(r"/notifications/([0-9a-f-]{36})/acknowledge", inbox)[0]
    # the link in the crisis email opens the alert with the client's risk reasons
    alert = manager.text(f"/notifications/{notification_id}")
    assert "open risk" in alert and "Acknowledge" in alert
    acknowledged = manager.post(
        f"/notifications/{notification_id}/acknowledge", headers={"HX-Request": "true"}
    )
    assert "escalation stopped" in acknowledged.get_data(as_text=True)
    assert 'class="crisis-banner"' not in manager.text("/caseload")

    assert wait_until(lambda: "Open plan" in manager.text(f"/clients/{client_id}"), timeout=30)
    plan_page = manager.get(f"/clients/{client_id}/plan")
    plan_path = plan_page.headers["Location"].split("#")[0]
    plan_id = plan_path.rsplit("/", 1)[-1]
    manager.text(plan_path)
    assert manager.post(f"/plans/{plan_id}/safety-plan", SAFETY_PLAN).status_code == 302
    plan = manager.text(plan_path)
    assert "Safety plan saved." in plan and "Walk by the river" in plan
    for goal_id in re.findall(r'id="goal-([0-9a-f-]{36})"', plan):
        manager.post(
            f"/plans/{plan_id}/goals/{goal_id}",
            {
                "in_own_words": "A place of my own",
                "measurable_target": "Signed tenancy",
                "status": "agreed",
            },
        )
    approved = manager.post(
        f"/plans/{plan_id}/approve",
        {"client_agreed": "yes", "method": "verbal", "present": "Alex Rivera\nAna Ortiz"},
    )
    assert approved.status_code == 302
    plan = manager.text(plan_path)
    assert "Plan approved" in plan, plan[plan.find("<main") : plan.find("<main") + 800]

    directory = manager.text(f"/clients/{client_id}/referrals/new?domain=housing")
    assert "Tenancy support" in directory and "Assessment summary, Contact details" in directory
    drafted = manager.post(
        "/referrals",
        {
            "client_id": client_id,
            "service_id": PARTNER_SERVICE,
            "domain": "housing",
            "assessment_summary": "Unmet need: housing",
        },
    )
    referral_path = drafted.headers["Location"]
    referral_id = referral_path.rsplit("/", 1)[-1]
    draft = manager.text(referral_path)
    assert "Send to housing-first" in draft

    def sent() -> bool:
        """Consent reaches referrals as an event: until it has, sending is refused, saying so."""
        manager.post(f"/referrals/{referral_id}/send")
        return 'data-status="requested"' in manager.text(referral_path)

    assert wait_until(sent, timeout=20)
    partner = web_platform.api("referrals").post(
        f"/partner/referrals/{referral_id}/status",
        headers=web_platform.as_("housing-first-staff", "partner", org=PARTNER_ORG),
        json={"status": "accepted"},
    )
    assert partner.status_code == 200, partner.json
    seen = manager.text(referral_path)
    assert 'data-status="accepted"' in seen and "housing-first-staff" in seen
    assert "Referral to housing-first: accepted" in manager.text(f"/clients/{client_id}")

    supervisor = web_platform.person(SUPERVISOR)
    team = supervisor.text("/team")
    assert "Ana Ortiz" in team and "1</strong> open risk flags" in team
