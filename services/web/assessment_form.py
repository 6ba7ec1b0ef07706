"""The assessment form: the instruments' questions as the form asks them, which questions a
started scale still needs, and the API's assessment from the form (plain functions, no Flask)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.web.screens import LIFE_DOMAINS, NEED_RATINGS

PHQ9_ITEMS = (
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself",
    "Trouble concentrating on things",
    "Moving or speaking slowly, or being fidgety or restless",
    "Thoughts that you would be better off dead, or of hurting yourself",
)
GAD7_ITEMS = (
    "Feeling nervous, anxious, or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid as if something awful might happen",
)
FREQUENCY = ("Not at all", "Several days", "More than half the days", "Nearly every day")
CSSRS_QUESTIONS = (
    (
        "wish_to_be_dead",
        "Q1. In the past month, have you wished you were dead or could go to sleep and not wake up?",
    ),
    (
        "suicidal_thoughts",
        "Q2. In the past month, have you had any actual thoughts of killing yourself?",
    ),
    ("method", "Q3. Have you thought about how you might do this?"),
    ("intent", "Q4. Have you had these thoughts and had some intention of acting on them?"),
    (
        "plan_with_intent",
        "Q5. Have you started to work out the details of how to kill yourself, and do you intend to carry out this plan?",
    ),
    (
        "behaviour_ever",
        "Q6. Have you ever done anything, started to do anything, or prepared to do anything to end your life?",
    ),
)
#: Only asked when Q2 is yes (the screener's branching).
CSSRS_AFTER_Q2 = ("method", "intent", "plan_with_intent")


def _yes(form: Mapping[str, str], name: str) -> bool | None:
    value = form.get(name, "")
    return {"yes": True, "no": False}.get(value)


def assessment_gaps(form: Mapping[str, str]) -> list[str]:
    """The questions left unanswered, in words ("PHQ-9 item 3")."""
    return [words for _, words in unanswered(form)]


def unanswered(form: Mapping[str, str]) -> list[tuple[str, str]]:
    """The questions left unanswered of a scale the form started, each as (its input's name,
    its words): a PHQ-9 with item 9 answered and another left blank must not be saved as no
    PHQ-9 at all (and no risk), nor a C-SSRS question the screener asks be taken for a "no". A
    scale left wholly blank was not given."""
    gaps: list[tuple[str, str]] = []
    for instrument, name, count in (("phq9", "PHQ-9", len(PHQ9_ITEMS)), ("gad7", "GAD-7", 7)):
        answered = [form.get(f"{instrument}_{index}", "").isdigit() for index in range(count)]
        if any(answered) and not all(answered):
            gaps += [
                (f"{instrument}_{n}", f"{name} item {n + 1}")
                for n, done in enumerate(answered)
                if not done
            ]
    asked = ["wish_to_be_dead", "suicidal_thoughts", "behaviour_ever"]
    if any(_yes(form, f"cssrs_{key}") is not None for key, _ in CSSRS_QUESTIONS) or _yes(
        form, "cssrs_behaviour_past_3_months"
    ):
        if _yes(form, "cssrs_suicidal_thoughts"):
            asked += CSSRS_AFTER_Q2
        numbers = {key: n + 1 for n, (key, _) in enumerate(CSSRS_QUESTIONS)}
        gaps += [
            (f"cssrs_{key}", f"C-SSRS question {numbers[key]}")
            for key, _ in CSSRS_QUESTIONS
            if key in asked and _yes(form, f"cssrs_{key}") is None
        ]
        if (
            _yes(form, "cssrs_behaviour_ever")
            and _yes(form, "cssrs_behaviour_past_3_months") is None
        ):
            gaps.append(
                ("cssrs_behaviour_past_3_months", "C-SSRS question 6, in the past 3 months")
            )
    return gaps


def assessment_body(form: Mapping[str, str]) -> dict[str, Any]:
    """The API's assessment from the form: rated domains, instruments answered in full, and the
    C-SSRS with Q3-Q5 sent only when Q2 is yes (the server refuses them otherwise)."""
    domains = {
        name: {"rating": form[f"domain_{name}"], "notes": form.get(f"notes_{name}") or None}
        for name in LIFE_DOMAINS
        if form.get(f"domain_{name}") in NEED_RATINGS
    }
    body: dict[str, Any] = {"domains": domains}
    for instrument, count in (("phq9", len(PHQ9_ITEMS)), ("gad7", len(GAD7_ITEMS))):
        answers = [form.get(f"{instrument}_{index}", "") for index in range(count)]
        if all(answer.isdigit() for answer in answers):
            body[instrument] = {"items": [int(answer) for answer in answers]}
    wish, thoughts = _yes(form, "cssrs_wish_to_be_dead"), _yes(form, "cssrs_suicidal_thoughts")
    if wish is not None and thoughts is not None:
        cssrs: dict[str, Any] = {
            "wish_to_be_dead": wish,
            "suicidal_thoughts": thoughts,
            "behaviour_ever": bool(_yes(form, "cssrs_behaviour_ever")),
        }
        if thoughts:
            for name in CSSRS_AFTER_Q2:
                cssrs[name] = bool(_yes(form, f"cssrs_{name}"))
        if cssrs["behaviour_ever"]:
            cssrs["behaviour_past_3_months"] = bool(_yes(form, "cssrs_behaviour_past_3_months"))
        body["cssrs"] = cssrs
    return body
