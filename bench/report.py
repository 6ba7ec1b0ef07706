"""Figures as rows (figure, baseline, ratio, target, met?) and the RESULTS.md they become."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path


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

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        return None if self.check is None else self.check(self)


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
            met = {True: "yes", False: "**no**", None: "—"}[f.met]
            lines.append(
                f"| {f.benchmark} | {f.name} | {_number(f.value, f.unit)} | {baseline} | {ratio} "
                f"| {f.target or '—'} | {met} |"
            )
    return "\n".join(lines)


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
