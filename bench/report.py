"""Figures as rows (figure, baseline, ratio, target, met?) and the RESULTS.md they become."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from bench.usual import usual_rate

T = TypeVar("T")

#: A rate baseline under this share of its usual rate ran while something else had the machine:
#: the ratio against it says nothing about us (it flattered the pipeline once: a confirm-each
#: baseline at 329/s against its usual 1,211/s gave 2.0x where a fair run gave 1.23x).
FAR_BELOW = 0.6


@dataclass
class Figure:
    """One measured figure; ``met`` is None when the figure has no target (information only)."""

    benchmark: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    check: Callable[[Figure], bool] | None = field(default=None, repr=False)
    #: What the baseline (a rate) usually reaches on a quiet machine (``bench.usual``); None:
    #: not judged (small runs, latencies).
    usual_baseline: float | None = None
    #: Requests that failed (an error status or none) in the runs behind the figure: a rate that
    #: counted refused requests is not a result (refusals cost less than the work measured).
    failed: int = 0

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    @property
    def baseline_far_below_usual(self) -> bool:
        return (
            self.usual_baseline is not None
            and self.baseline is not None
            and self.baseline < FAR_BELOW * self.usual_baseline
        )

    @property
    def met(self) -> bool | None:
        """None (no verdict) without a target, or when the baseline ran far below its usual
        rate: such a ratio is not a result."""
        if self.check is None or self.baseline_far_below_usual or self.failed:
            return None
        return self.check(self)

    @property
    def verdict(self) -> str:
        if self.check is not None and self.failed:
            return f"not a result: {self.failed:,} requests failed"
        if self.check is not None and self.baseline_far_below_usual:
            return (
                f"not a result: baseline far below its usual {_number(self.usual_baseline)}"
                f" {self.unit}"
            )
        return {True: "yes", False: "**no**", None: "—"}[self.met]


@dataclass
class Outcome:
    """What one benchmark found: its figures, notes, and profile excerpts for unmet targets."""

    benchmark: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profiles: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: float, unit: str, **options: object) -> Figure:
        figure = Figure(self.benchmark, name, value, unit, **options)  # type: ignore[arg-type]
        self.figures.append(figure)
        return figure


#: A process's resident memory at its peak under load within this of its idle size is flat (the
#: allocator keeps what a burst needed; a leak grows with the load, not by a fixed step).
FLAT_MEMORY = 1.25


def add_memory(outcome: Outcome, process: str, idle: float, peak: float, under: str) -> None:
    """A process's resident memory idle and at its peak ``under`` load, the peak judged flat."""
    outcome.add(f"{process} RSS idle", idle, "MiB")
    outcome.add(
        f"{process} RSS peak {under}",
        peak,
        "MiB",
        baseline=idle,
        baseline_name="idle",
        target=f"≤ {FLAT_MEMORY:.2f}x idle (flat)",
        check=lambda f: (f.ratio or 0) <= FLAT_MEMORY,
    )


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"
    return f"{text} {unit}".strip()


def table(outcomes: Sequence[Outcome]) -> str:
    lines = [
        "| benchmark | figure | value | baseline | ratio | target | met? |",
        "|---|---|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        for f in outcome.figures:
            baseline = f"{_number(f.baseline, f.unit)} ({f.baseline_name})" if f.baseline else "—"
            ratio = f"{f.ratio:.2f}x" if f.ratio is not None else "—"
            lines.append(
                f"| {f.benchmark} | {f.name} | {_number(f.value, f.unit)} | {baseline} | {ratio} "
                f"| {f.target or '—'} | {f.verdict} |"
            )
    return "\n".join(lines)


def until_baselines_are_usual(
    measure: Callable[[], tuple[T, dict[str, float]]],
    notes: list[str],
    *,
    judge: bool,
    attempts: int = 3,
) -> T:
    """Run ``measure`` (ours and its baselines, side by side; it returns its result and each
    baseline's rate by name, as in ``bench.usual``) again while a baseline runs far below its
    usual rate, at most ``attempts`` times, noting each such run. The last result stands; a
    figure given its ``usual_baseline`` then says whether it is a result. ``judge`` False (small
    runs): measured once."""
    for attempt in range(1, attempts + 1):
        result, baselines = measure()
        low = {}
        for name, rate in baselines.items():
            usual = usual_rate(name) if judge else None
            if usual is not None and rate < FAR_BELOW * usual:
                low[name] = (rate, usual)
        if not low:
            return result
        again = "measured again" if attempt < attempts else f"still so after {attempts} runs"
        for name, (rate, usual) in low.items():
            notes.append(
                f"The baseline {name} ran at {_number(rate)}/s, under {FAR_BELOW:.0%} of its "
                f"usual {_number(usual)}/s (the machine was busy): {again}."
            )
    return result


def render(outcomes: Sequence[Outcome], facts: dict[str, str], command: str, took: float) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# Benchmark results",
        "",
        f"Written by `{command}` on {now} (took {took / 60:.1f} min). Each baseline is measured "
        "in the same run on the same servers, so the ratios are what to compare: other work "
        "on the machine moves absolute figures.",
        "",
        "Machine: " + ", ".join(f"{key} {value}" for key, value in facts.items()) + ".",
        "",
        table(outcomes),
        "",
    ]
    for outcome in outcomes:
        if not outcome.notes and not outcome.profiles:
            continue
        parts += [f"## {outcome.benchmark}", ""]
        parts += [f"- {note}" for note in outcome.notes]
        for title, excerpt in outcome.profiles.items():
            parts += ["", f"Profile: {title}", "", "```", excerpt.rstrip(), "```"]
        parts.append("")
    return "\n".join(parts)


def write(path: Path, text: str) -> None:
    path.write_text(text if text.endswith("\n") else text + "\n")
