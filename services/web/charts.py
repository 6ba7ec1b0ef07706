"""The reporting service's figures made ready to draw: each bar is a label, the figure as shown
(suppressed counts stay "< 5") and the fraction of the chart it fills. No markup here: the
template draws the bars as SVG with a table of the same figures beside them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

#: The period a report page opens on: the last 90 days, today included.
DEFAULT_PERIOD_DAYS = 90


@dataclass(frozen=True)
class Bar:
    label: str
    shown: str
    #: 0..1 of the chart's width; None when the figure is suppressed or not yet available.
    fraction: float | None


def _first(pair: tuple[str, Any]) -> str:
    """Sort by the label alone (two partners may share a name; their figures do not compare)."""
    return pair[0]


def default_period(today: date) -> tuple[date, date]:
    return today - timedelta(days=DEFAULT_PERIOD_DAYS - 1), today


def _number(value: Any) -> float | None:
    """A count or share as a number; None for a suppressed cell ("< 5") or a missing one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _shown(value: Any) -> str:
    return "—" if value is None else str(value)


def share_bars(rates: Iterable[tuple[str, Mapping[str, Any] | None]]) -> list[Bar]:
    """Rates (people out of a total) as percentages of a full-width bar."""
    bars = []
    for label, rate in rates:
        share = _number((rate or {}).get("share"))
        people, out_of = (rate or {}).get("people"), (rate or {}).get("out_of")
        if share is None:
            bars.append(Bar(label, "not enough people to show" if out_of else "none yet", None))
            continue
        bars.append(Bar(label, f"{share:.0%} ({_shown(people)} of {_shown(out_of)})", share))
    return bars


def count_bars(counts: Iterable[tuple[str, Any]]) -> list[Bar]:
    """Counts against the largest of them; suppressed ones keep their "< 5" and draw no bar."""
    pairs = list(counts)
    largest = max((_number(value) or 0.0 for _, value in pairs), default=0.0)
    return [
        Bar(
            label,
            _shown(value),
            None if _number(value) is None else (_number(value) or 0.0) / (largest or 1.0),
        )
        for label, value in pairs
    ]


def caseload_bars(
    rows: Iterable[Mapping[str, Any]], names: Mapping[str, str] | None = None
) -> list[Bar]:
    """Each case manager's latest caseload in the period against their cap (over it: full bar),
    named by ``names`` (their display names by id), in the order of those names."""
    latest: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        known = latest.get(row["case_manager_id"])
        if known is None or str(row["on"]) >= str(known["on"]):
            latest[row["case_manager_id"]] = row
    bars = []
    named = names or {}
    rows_named = sorted(((named.get(m, m), row) for m, row in latest.items()), key=_first)
    for name, row in rows_named:
        cap = row.get("cap")
        clients = int(row.get("clients") or 0)
        if cap:
            bars.append(Bar(name, f"{clients} of {cap}", min(clients / cap, 1.0)))
        else:
            bars.append(Bar(name, f"{clients} (no cap)", None))
    return bars


def referral_bars(
    by_partner: Mapping[str, Mapping[str, Any]], names: Mapping[str, str] | None = None
) -> list[Bar]:
    """Referrals sent to each partner (named by ``names``, by id), against the one with most."""
    named = names or {}
    return count_bars(
        sorted(
            (
                (named.get(partner, partner), figures.get("sent"))
                for partner, figures in by_partner.items()
            ),
            key=_first,
        )
    )


def outcome_bars(outcomes: Mapping[str, Mapping[str, Any]]) -> list[Bar]:
    """Per measure (PHQ-9, GAD-7): reliable improvement, response and remission rates."""
    rates: list[tuple[str, Mapping[str, Any] | None]] = []
    for measure, figures in sorted(outcomes.items()):
        label = measure.upper().replace("PHQ9", "PHQ-9").replace("GAD7", "GAD-7")
        rates += [
            (f"{label} reliable improvement", figures.get("reliable_improvement")),
            (f"{label} response", figures.get("response")),
            (f"{label} remission", figures.get("remission")),
        ]
    return share_bars(rates)
