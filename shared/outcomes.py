"""Symptom-scale outcomes, defined once for intake (one client's series) and reporting (the
programme's figures). Plain Python, no framework.

Thresholds and their sources:

* Reliable change, PHQ-9: 6 points. Jacobson & Truax (1991) reliable change index,
  RCI = 1.96 * SD * sqrt(2 * (1 - r)); with the PHQ-9's published SD and test-retest reliability
  this gives about 6, the value NHS Talking Therapies (IAPT) uses; McMillan, Gilbody & Richards
  (2010, J Affect Disord 127:122-129) found 5 points the minimal clinically important change
  and support a change of this size as meaningful for an individual.
* Reliable change, GAD-7: 4 points, as in NHS Talking Therapies; Toussaint et al. (2020,
  J Affect Disord 265:395-401) report a minimal clinically important difference of 4 points.
* Caseness 10 on both (Kroenke et al. 2001; Spitzer et al. 2006); remission: below 5
  ("minimal" band); response: a fall of at least 50 % from baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Instrument:
    """Thresholds of a symptom scale (NHS Talking Therapies and Kroenke et al. conventions)."""

    name: str
    #: A drop of at least this many points is beyond measurement error (reliable change index).
    reliable_change: int
    #: Baseline at or above this: the person started in the clinical range (caseness).
    clinical_cutoff: int
    #: Latest score below this: remission.
    remission_below: int


PHQ9 = Instrument("phq9", reliable_change=6, clinical_cutoff=10, remission_below=5)
GAD7 = Instrument("gad7", reliable_change=4, clinical_cutoff=10, remission_below=5)
INSTRUMENTS = {instrument.name: instrument for instrument in (PHQ9, GAD7)}


@dataclass(frozen=True)
class SeriesOutcome:
    """One person's change on one scale, baseline = first score, latest = last. ``response``
    and ``remission`` apply only to a baseline in the clinical range (None otherwise), as in the
    funder figures; ``reliable_change`` is improved / deteriorated / unchanged."""

    baseline: int | None
    latest: int | None
    change: int | None
    reliable_change: str | None
    response: bool | None
    remission: bool | None


def series_outcome(totals: Sequence[int], instrument: Instrument) -> SeriesOutcome:
    """The outcome of a series of totals in the order they were taken (needs two to compare)."""
    if not totals:
        return SeriesOutcome(None, None, None, None, None, None)
    baseline, latest = totals[0], totals[-1]
    if len(totals) < 2:
        return SeriesOutcome(baseline, latest, None, None, None, None)
    change = latest - baseline
    if -change >= instrument.reliable_change:
        reliable = "improved"
    elif change >= instrument.reliable_change:
        reliable = "deteriorated"
    else:
        reliable = "unchanged"
    clinical = baseline >= instrument.clinical_cutoff
    return SeriesOutcome(
        baseline=baseline,
        latest=latest,
        change=change,
        reliable_change=reliable,
        response=latest * 2 <= baseline if clinical else None,
        remission=latest < instrument.remission_below if clinical else None,
    )
