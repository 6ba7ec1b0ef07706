"""The web-pages benchmark's arithmetic: the slowest call is the one with the highest p95, the
target is a ratio under 1.5, and samples that do not line up are refused."""

from __future__ import annotations

import math

import pytest

from bench.report import Outcome
from bench.web_pages import Call, p95_ms, page_figures

CALLS = [Call("intake", "/a", {}), Call("planning", "/b", {"limit": 200})]


def test_p95_of_few_samples_stays_within_them() -> None:
    assert p95_ms([0.010]) == pytest.approx(10.0)
    assert p95_ms([0.010, 0.020]) <= 20.0
    assert p95_ms([i / 1000 for i in range(1, 101)]) == pytest.approx(95.05)
    assert math.isnan(p95_ms([]))


def test_the_page_is_held_against_its_slowest_call_and_its_calls_in_turn() -> None:
    outcome = Outcome("web pages")
    pages = [0.030] * 20
    alone = [[0.010] * 20, [0.025] * 20]  # planning is the slowest
    page_figures(outcome, "page", pages, CALLS, alone)
    slowest, in_turn = outcome.figures
    assert slowest.baseline == pytest.approx(25.0)
    assert "planning /b" in slowest.baseline_name
    assert slowest.ratio == pytest.approx(1.2)
    assert slowest.met is True
    assert in_turn.baseline == pytest.approx(35.0)
    assert in_turn.met is None
    assert "intake /a 10.0 ms" in outcome.notes[0]


def test_a_page_at_or_over_one_and_a_half_times_its_slowest_call_misses() -> None:
    outcome = Outcome("web pages")
    page_figures(outcome, "page", [0.015] * 5, CALLS[:1], [[0.010] * 5])
    assert outcome.figures[0].met is False


def test_samples_that_do_not_line_up_are_refused() -> None:
    with pytest.raises(ValueError):
        page_figures(Outcome("web pages"), "page", [0.01] * 3, CALLS, [[0.01] * 3])
    with pytest.raises(ValueError):
        page_figures(Outcome("web pages"), "page", [0.01] * 3, CALLS, [[0.01] * 3, [0.01] * 2])
