"""The assessment form as a clinician fills it in: a scale left half answered is never saved as
no scale (and no risk); the same form sent twice (a reload of the result, a double click) saves
one assessment and raises one alert; a high result says who was told."""

from __future__ import annotations

import re

from tests.web.conftest import WebPlatform
from tests.web.test_outages import _registered_and_assigned
from tests.web.test_screens import HIGH_RISK_FORM

KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def _assessments(platform: WebPlatform, client_id: str) -> list[dict[str, object]]:
    answer = platform.api("intake").get(
        f"/clients/{client_id}/assessments", headers=platform.as_("admin-1", "admin")
    )
    assert answer.status_code == 200, answer.json
    return answer.json["items"]


def test_a_half_answered_scale_is_refused_naming_each_question_and_keeps_the_answers(
    web_platform: WebPlatform,
) -> None:
    web_platform.seed_team_and_directory()
    client_id = _registered_and_assigned(web_platform)
    intake = web_platform.person("iw-demo")
    form = intake.text(f"/clients/{client_id}/assessments/new")
    key = KEY.search(form)
    assert key
    half = {
        "idempotency_key": key[1],
        "domain_housing": "unmet_need",
        **{f"phq9_{i}": "1" for i in range(9) if i != 2},
        "phq9_8": "3",  # item 9, nearly every day
        "gad7_0": "2",
        "cssrs_wish_to_be_dead": "yes",  # Q2 left blank
    }
    refused = intake.post(f"/clients/{client_id}/assessments", half)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "There is a problem" in page and "C-SSRS question 2" in page
    item_3 = "Answer PHQ-9 item 3: a scale you start needs every answer, or none."
    assert f'<a href="#q-phq9_2">{item_3}</a>' in page  # the summary links to the question
    assert '<p id="q-phq9_2-error" class="field-error">' in page
    assert re.search(r'id="q-phq9_2" aria-describedby="q-phq9_2-error"', page)
    assert "GAD-7 item 2" in page and "GAD-7 item 7" in page and "GAD-7 item 1:" not in page
    assert "C-SSRS question 6" in page  # asked whatever Q2 says
    assert re.search(r'name="phq9_8" value="3"\s+checked', page)  # what was typed stays
    assert _assessments(web_platform, client_id) == []
    thoughts = {**HIGH_RISK_FORM, "idempotency_key": "k-2"}
    del thoughts["cssrs_intent"]  # Q2 yes: Q4 is asked, and blank is not a "no"
    again = intake.post(f"/clients/{client_id}/assessments", thoughts)
    assert again.status_code == 422 and "C-SSRS question 4" in again.get_data(as_text=True)
    assert _assessments(web_platform, client_id) == []


def test_the_same_form_sent_twice_saves_one_assessment(web_platform: WebPlatform) -> None:
    web_platform.seed_team_and_directory()
    client_id = _registered_and_assigned(web_platform)
    intake = web_platform.person("iw-demo")
    form = intake.text(f"/clients/{client_id}/assessments/new")
    key = KEY.search(form)
    assert key
    sent = {**HIGH_RISK_FORM, "idempotency_key": key[1]}
    first = intake.post(f"/clients/{client_id}/assessments", sent)
    assert first.status_code == 200 and "Risk: High" in first.get_data(as_text=True)
    reloaded = intake.post(f"/clients/{client_id}/assessments", sent)  # F5 on the result
    assert reloaded.status_code == 200 and "Risk: High" in reloaded.get_data(as_text=True)
    assert len(_assessments(web_platform, client_id)) == 1
    fresh = KEY.search(intake.text(f"/clients/{client_id}/assessments/new"))
    assert fresh and fresh[1] != key[1]  # a new form is a new assessment
    second = intake.post(f"/clients/{client_id}/assessments", {**sent, "idempotency_key": fresh[1]})
    assert second.status_code == 200
    assert len(_assessments(web_platform, client_id)) == 2


def test_a_high_result_for_a_client_nobody_carries_says_on_call_was_told(
    web_platform: WebPlatform,
) -> None:
    web_platform.seed_team_and_directory()
    intake = web_platform.person("iw-demo")
    registered = intake.post(
        "/intake/clients",
        {"given_name": "Sam", "family_name": "Lee", "date_of_birth": "1990-02-03"},
    )
    assert registered.status_code == 302
    client_id = registered.headers["Location"].rsplit("/", 1)[-1]
    result = intake.post(f"/clients/{client_id}/assessments", HIGH_RISK_FORM)
    page = result.get_data(as_text=True)
    assert result.status_code == 200 and "on-call has been alerted" in page
    assert "case manager and supervisor have been alerted" not in page
