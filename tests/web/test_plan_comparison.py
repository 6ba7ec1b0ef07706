"""Comparing two versions of a plan names the goals and strategies as people wrote them (their
domain and the client's words), never their ids; and the naming rules without a server."""

from __future__ import annotations

import re

from services.web.labels import comparison_lines
from tests.support.platform import wait_until
from tests.web.conftest import CASE_MANAGER, WebPlatform
from tests.web.test_casework import assigned_client
from tests.web.test_plan_review import _agree_every_goal, _assess

V1 = {
    "number": 1,
    "content": {
        "goals": [
            {
                "id": "g-1",
                "domain": "housing",
                "in_own_words": "A place of my own",
                "strategies": [{"id": "s-1", "description": "Apply for housing benefit"}],
            },
            {"id": "g-2", "domain": "leisure", "in_own_words": "Swim again", "strategies": []},
        ]
    },
}
V2 = {
    "number": 2,
    "content": {
        "goals": [
            {"id": "g-1", "domain": "housing", "in_own_words": "My own flat", "strategies": []},
            {"id": "g-3", "domain": "income", "in_own_words": "", "strategies": []},
        ]
    },
}


def test_a_comparison_names_each_goal_and_strategy() -> None:
    comparison = {
        "goals_added": ["g-3"],
        "goals_removed": ["g-2"],
        "goals_changed": [{"id": "g-1", "fields": ["in_own_words", "measurable_target"]}],
        "strategies_added": [],
        "strategies_removed": ["s-1", "s-9"],
    }
    assert comparison_lines(comparison, [V2, V1]) == {
        "goals_added": ["Income"],  # no words yet: its domain
        "goals_removed": ["Leisure: “Swim again”"],  # named as it was before it went
        "goals_changed": ["Housing: “My own flat”: the client's words, target"],
        "strategies_added": [],
        "strategies_removed": [
            "Apply for housing benefit (for Housing)",
            "A strategy no longer in any version",
        ],
    }


def test_the_plan_page_compares_versions_by_name(web_platform: WebPlatform) -> None:
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
        {"client_agreed": "yes", "method": "verbal", "present": "Jo Baker"},
    )
    assert approved.status_code == 302, approved.get_data(as_text=True)[-800:]
    assert manager.post(f"/plans/{plan_id}/start-review").status_code == 302
    added = manager.post(
        f"/plans/{plan_id}/goals",
        {"domain": "income", "in_own_words": "Money for food", "measurable_target": "Benefits"},
    )
    assert added.status_code == 302, added.get_data(as_text=True)[-800:]
    page = manager.text(plan_path)
    [goal_id] = [
        found
        for found in re.findall(r'id="goal-([0-9a-f-]{36})"', page)
        if f'id="goal-title-{found}">Income' in page
    ]
    strategy = manager.post(
        f"/plans/{plan_id}/goals/{goal_id}/strategies",
        {"description": "Call the benefits office", "responsible": "client"},
    )
    assert strategy.status_code == 302
    compared = manager.text(f"{plan_path}?older=1&newer=2")
    shown = compared.split('id="comparison-title"', 1)[1].split("</dl>", 1)[0]
    assert "From version 1 to version 2" in shown
    assert "<li>Income: “Money for food”</li>" in shown
    assert "<li>Call the benefits office (for Income)</li>" in shown
    assert goal_id not in shown and not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", shown)
