"""A plan's suggested changes through the Flask test client, against the four real services and
their workers: a reassessment of the approved plan suggests its new unmet needs; outside a review
they wait "for the next review"; at the review one is taken up as a proposed goal and the other
dismissed with a reason (a missing reason refused beside its field), and approving while one is
open is refused naming it."""

from __future__ import annotations

import re

from tests.support.platform import wait_until
from tests.web.conftest import CASE_MANAGER, Person, WebPlatform
from tests.web.test_casework import assigned_client

LOW_RISK = {
    **{f"phq9_{i}": "0" for i in range(9)},
    **{f"gad7_{i}": "0" for i in range(7)},
    "cssrs_wish_to_be_dead": "no",
    "cssrs_suicidal_thoughts": "no",
    "cssrs_behaviour_ever": "no",
}


def _assess(manager: Person, client_id: str, unmet: dict[str, str]) -> None:
    form = {**LOW_RISK}
    for domain, note in unmet.items():
        form[f"domain_{domain}"], form[f"notes_{domain}"] = "unmet_need", note
    done = manager.post(f"/clients/{client_id}/assessments", form)
    assert done.status_code == 200, done.get_data(as_text=True)[-600:]


def _agree_every_goal(manager: Person, plan_path: str) -> None:
    plan_id = plan_path.rsplit("/", 1)[-1]
    for goal_id in re.findall(r'id="goal-([0-9a-f-]{36})"', manager.text(plan_path)):
        saved = manager.post(
            f"/plans/{plan_id}/goals/{goal_id}",
            {
                "in_own_words": "Get back on my feet",
                "measurable_target": "Done",
                "status": "agreed",
            },
        )
        assert saved.status_code == 302


def plan_with_suggestions(web_platform: WebPlatform) -> tuple[Person, str, str]:
    """An approved plan for housing, then a reassessment that rates income and relationships as
    unmet needs: the (case manager, client id, plan path) once planning has suggested both."""
    web_platform.seed_team_and_directory()
    client_id = assigned_client(web_platform, "Jo", "Baker")
    manager = web_platform.person(CASE_MANAGER)
    _assess(manager, client_id, {"housing": "Sofa-surfing since the summer"})
    assert wait_until(lambda: "Open plan" in manager.text(f"/clients/{client_id}"), timeout=30)
    plan_path = manager.get(f"/clients/{client_id}/plan").headers["Location"].split("#")[0]
    plan_id = plan_path.rsplit("/", 1)[-1]
    _agree_every_goal(manager, plan_path)
    approved = manager.post(
        f"/plans/{plan_id}/approve",
        {"client_agreed": "yes", "method": "verbal", "present": "Jo Baker\nAna Ortiz"},
    )
    assert approved.status_code == 302
    assert "Plan approved" in manager.text(plan_path)
    _assess(
        manager,
        client_id,
        {
            "housing": "Still sofa-surfing",
            "income": "Benefits stopped in October",
            "relationships": "Lost touch with family",
        },
    )
    assert wait_until(lambda: "2 to decide" in manager.text(plan_path), timeout=30)
    return manager, client_id, plan_path


def test_suggested_changes_wait_for_the_review_and_are_each_decided(
    web_platform: WebPlatform,
) -> None:
    manager, _client_id, plan_path = plan_with_suggestions(web_platform)
    plan_id = plan_path.rsplit("/", 1)[-1]
    active = manager.text(plan_path)
    assert "To decide at the next review" in active and "Start the review now" in active
    assert "Income: rated an unmet need" in active and "Relationships: rated" in active
    assert "From the reassessment of" in active and "Benefits stopped in October" in active
    assert "Housing: rated" not in active  # the plan has a housing goal already
    assert "Take up income as a goal" not in active and 'name="reason"' not in active
    assert "/take-up" not in active and "/dismiss" not in active

    # posted directly before the review, planning refuses and its words are shown
    ids = re.findall(r'id="suggestion-([0-9a-f-]{36})"', active)
    assert len(ids) == 2
    early = manager.post(
        f"/plans/{plan_id}/suggested-changes/{ids[0]}/take-up", follow_redirects=True
    )
    assert "flash-error" in early.get_data(as_text=True)

    started = manager.post(f"/plans/{plan_id}/start-review", {"then": "suggested-changes"})
    assert started.headers["Location"].endswith("#suggested-changes")
    review = manager.text(plan_path)
    assert "Decide each one at this review" in review and "To decide at the next" not in review
    assert "Take up income as a goal" in review and "Dismiss relationships" in review
    income, relationships = ids  # open ones oldest first, then by domain

    # an administrator reads them but is offered no decision
    admin_view = web_platform.person("admin-demo").text(plan_path)
    assert "Benefits stopped in October" in admin_view
    assert "Take up income as a goal" not in admin_view

    taken = manager.post(f"/plans/{plan_id}/suggested-changes/{income}/take-up")
    assert taken.status_code == 302 and "#goal-" in taken.headers["Location"]
    goal_id = taken.headers["Location"].rsplit("#goal-", 1)[1]
    page = manager.text(plan_path)
    assert "Income taken up" in page and f'id="goal-{goal_id}"' in page
    assert f'href="#goal-{goal_id}">proposed goal</a>' in page
    assert "1 to decide" in page
    assert (
        'Decide the suggested changes first: <a href="#suggested-changes">Relationships</a>' in page
    )

    refused = manager.post(
        f"/plans/{plan_id}/approve",
        {"client_agreed": "yes", "method": "verbal", "present": "Jo Baker"},
    )
    assert refused.status_code == 409  # the plan again, the agreement as typed
    named = refused.get_data(as_text=True)
    assert '<a href="#suggested-changes">Decide every suggested change' in named
    assert "Still to decide: Relationships.</a>" in named
    assert "Jo Baker</textarea>" in named and '<option value="verbal" selected>' in named
    assert 'name="client_agreed" value="yes" required checked' in named

    too_short = manager.post(
        f"/plans/{plan_id}/suggested-changes/{relationships}/dismiss", {"reason": "no"}
    )
    assert too_short.status_code == 422
    shown = too_short.get_data(as_text=True)
    error_id = f"dismiss-{relationships}-error"
    assert f'<p id="{error_id}" class="field-error">' in shown
    assert re.search(
        rf'id="dismiss-{relationships}"[^>]*value="no" aria-describedby="{error_id}" '
        rf'aria-invalid="true"',
        shown,
    ), shown[shown.find('id="suggested-changes"') :][:2000]
    too_short_words = "The reason to dismiss it must be from 3 to 500 characters long."
    assert f'<a href="#dismiss-{relationships}">{too_short_words}</a>' in shown  # the summary
    assert "Length must be" not in shown
    assert "Relationships dismissed" not in manager.text(plan_path)

    dismissed = manager.post(
        f"/plans/{plan_id}/suggested-changes/{relationships}/dismiss",
        {"reason": "Family support is in place"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Relationships dismissed; the reason is recorded." in dismissed
    assert "dismissed — “Family support is in place”" in dismissed and CASE_MANAGER in dismissed
    assert "to decide" not in dismissed

    _agree_every_goal(manager, plan_path)
    approved = manager.post(
        f"/plans/{plan_id}/approve",
        {"client_agreed": "yes", "method": "verbal", "present": "Jo Baker"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Plan approved with the client" in approved
    assert "Income: “Get back on my feet”" in approved
