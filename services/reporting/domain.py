"""Every reported figure, defined once with its formula, and the small-cell rule.

Plain functions over plain values: no Flask, no database. A period is a range of the agency's
calendar days, both ends included; a moment falls in it when its agency date does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import median

from shared.clock import agency_zone, in_agency_zone
from shared.outcomes import GAD7 as GAD7  # the thresholds are shared with intake
from shared.outcomes import INSTRUMENTS as INSTRUMENTS
from shared.outcomes import PHQ9 as PHQ9
from shared.outcomes import Instrument

#: Cells counting fewer people than this are shown as "< 5".
SMALL_CELL = 5
SUPPRESSED = "< 5"
#: A crisis alert counts as answered in time when acknowledged within this.
ACKNOWLEDGE_WITHIN = timedelta(minutes=15)
UNSPECIFIED_PROGRAMME = "unspecified"


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    def __contains__(self, moment: object) -> bool:
        if isinstance(moment, datetime):
            moment = in_agency_zone(moment).date()
        return isinstance(moment, date) and self.start <= moment <= self.end

    def instants(self) -> tuple[datetime, datetime]:
        """The period as UTC instants, its first and the first after it: a moment is in the
        period when ``first <= moment < after`` (what a database can compare on an index)."""
        return day_start(self.start), day_start(self.end + timedelta(days=1))

    def holds(self) -> Callable[[datetime], bool]:
        """``moment in period`` with the period's instants worked out once, for figures that
        test many rows (a lookup of the agency's zone per row is most of their time)."""
        first, after = self.instants()
        return lambda moment: first <= moment < after


def day_start(day: date) -> datetime:
    """The first instant of an agency day, in UTC (a moment before it has an earlier date)."""
    return datetime.combine(day, time(), agency_zone()).astimezone(UTC)


@dataclass(frozen=True)
class Episode:
    episode_id: str
    programme: str
    team: str | None
    registered_at: datetime | None
    first_assigned_at: datetime | None
    first_plan_approved_at: datetime | None
    discharged_at: datetime | None
    discharge_reason: str | None


@dataclass(frozen=True)
class Assignment:
    episode_id: str
    case_manager_id: str
    assigned_at: datetime


@dataclass(frozen=True)
class Score:
    episode_id: str
    instrument: str
    total: int
    taken_at: datetime


@dataclass(frozen=True)
class Review:
    due_on: date
    held_at: datetime | None


@dataclass(frozen=True)
class Referral:
    organization_id: str
    sent_at: datetime | None
    accepted_at: datetime | None
    completed_at: datetime | None
    rejected_at: datetime | None
    rejection_reason: str | None


@dataclass(frozen=True)
class CrisisAlert:
    flagged_at: datetime
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class Rate:
    """``people`` of ``out_of`` people; the share is their quotient (None when nobody)."""

    people: int
    out_of: int

    @property
    def share(self) -> float | None:
        return round(self.people / self.out_of, 4) if self.out_of else None


@dataclass(frozen=True)
class Duration:
    """Median days over ``people`` people (None when nobody)."""

    people: int
    median_days: float | None


def duration(days: Iterable[float]) -> Duration:
    values = sorted(days)
    return Duration(len(values), round(median(values), 2) if values else None)


def duration_from_middles(
    people: int, lower: timedelta | None, upper: timedelta | None
) -> Duration:
    """``duration`` of ``people`` values from their two middle ones (the lower and the upper
    median; the same value when ``people`` is odd), as a database picks them without sending
    every value: the same median, worked out the same way."""
    if not people or lower is None or upper is None:
        return Duration(people, None)
    low, high = lower.total_seconds() / 86400, upper.total_seconds() / 86400
    return Duration(people, round(low if people % 2 else (low + high) / 2, 2))


def _days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 86400


# -- figures ------------------------------------------------------------------------------------
def caseload_on(
    assignments: Sequence[Assignment], discharged: Mapping[str, datetime], on: date
) -> Counter[str]:
    """Caseload of each case manager at the end of day ``on``: episodes whose latest assignment
    made on or before ``on`` names them and which were not discharged on or before ``on``."""
    latest: dict[str, Assignment] = {}
    for assignment in assignments:
        if in_agency_zone(assignment.assigned_at).date() > on:
            continue
        current = latest.get(assignment.episode_id)
        if current is None or assignment.assigned_at > current.assigned_at:
            latest[assignment.episode_id] = assignment
    return Counter(
        a.case_manager_id
        for episode_id, a in latest.items()
        if episode_id not in discharged or in_agency_zone(discharged[episode_id]).date() > on
    )


def month_ends(period: Period) -> list[date]:
    """The dates caseload is sampled on: each month's last day in the period, and its end."""
    points, cursor = [], period.start
    while cursor <= period.end:
        following = (cursor.replace(day=1) + timedelta(days=32)).replace(day=1)
        points.append(min(following - timedelta(days=1), period.end))
        cursor = following
    return points


def in_care(episodes: Iterable[Episode], period: Period) -> int:
    """People in care during the period: episodes registered on or before its last day and not
    discharged before its first."""
    return sum(
        e.registered_at is not None
        and in_agency_zone(e.registered_at).date() <= period.end
        and (e.discharged_at is None or in_agency_zone(e.discharged_at).date() >= period.start)
        for e in episodes
    )


def registrations(episodes: Iterable[Episode], period: Period) -> int:
    """Episodes opened (registration or re-admission) in the period."""
    return sum(e.registered_at is not None and e.registered_at in period for e in episodes)


def registration_to_assignment(episodes: Iterable[Episode], period: Period) -> Duration:
    """Median days from registration to first assignment, over episodes first assigned in the
    period: median(first_assigned_at - registered_at)."""
    within = period.holds()
    return duration(
        _days(e.registered_at, e.first_assigned_at)
        for e in episodes
        if e.registered_at and e.first_assigned_at and within(e.first_assigned_at)
    )


def days_to_plan_approval(episodes: Iterable[Episode], period: Period) -> Duration:
    """Median days from registration to the first approved plan, over episodes whose plan was
    first approved in the period: median(first_plan_approved_at - registered_at)."""
    within = period.holds()
    return duration(
        _days(e.registered_at, e.first_plan_approved_at)
        for e in episodes
        if e.registered_at and e.first_plan_approved_at and within(e.first_plan_approved_at)
    )


def reviews_on_time(reviews: Iterable[Review], period: Period, today: date) -> Rate:
    """Reviews held on time: held on or before their due day / reviews due in the period whose
    outcome is known (held, or due before today and not held: late). A review due today or
    later and not yet held is not counted either way."""
    held_on_time = known = 0
    day_after: dict[date, datetime] = {}  # the first instant after each due day
    for review in reviews:
        if not period.start <= review.due_on <= period.end:
            continue
        if review.held_at is not None:
            known += 1
            if review.due_on not in day_after:
                day_after[review.due_on] = day_start(review.due_on + timedelta(days=1))
            held_on_time += review.held_at < day_after[review.due_on]
        elif review.due_on < today:
            known += 1
    return Rate(held_on_time, known)


@dataclass(frozen=True)
class PartnerFigures:
    sent: int
    accepted: int
    completed: int
    rejected: int
    rejection_reasons: dict[str, int]
    to_acceptance: Duration


def referrals_by_partner(
    referrals: Iterable[Referral], period: Period
) -> dict[str, PartnerFigures]:
    """Per partner organisation, over referrals sent in the period: how many were sent,
    accepted, completed and rejected (with the count of each reason code), and the median days
    from sending to acceptance: median(accepted_at - sent_at)."""
    grouped: dict[str, list[Referral]] = {}
    within = period.holds()
    for referral in referrals:
        if referral.sent_at is not None and within(referral.sent_at):
            grouped.setdefault(referral.organization_id, []).append(referral)
    return {
        organization: PartnerFigures(
            sent=len(group),
            accepted=sum(r.accepted_at is not None for r in group),
            completed=sum(r.completed_at is not None for r in group),
            rejected=sum(r.rejected_at is not None for r in group),
            rejection_reasons=dict(
                sorted(
                    Counter(
                        r.rejection_reason or "unstated" for r in group if r.rejected_at
                    ).items()
                )
            ),
            to_acceptance=duration(
                _days(r.sent_at, r.accepted_at) for r in group if r.sent_at and r.accepted_at
            ),
        )
        for organization, group in sorted(grouped.items())
    }


def first_acknowledgement(
    flagged_at: datetime, acknowledgements: Iterable[datetime]
) -> datetime | None:
    """The first acknowledgement of an urgent notification about the client at or after the flag."""
    return min((at for at in acknowledgements if at >= flagged_at), default=None)


def crisis_acknowledged_in_time(alerts: Iterable[CrisisAlert], period: Period) -> Rate:
    """Crisis alerts raised in the period, and the share acknowledged within 15 minutes:
    alerts with (first acknowledgement - flagged_at) <= 15 min / alerts."""
    raised = [alert for alert in alerts if alert.flagged_at in period]
    in_time = sum(
        a.acknowledged_at is not None and a.acknowledged_at - a.flagged_at <= ACKNOWLEDGE_WITHIN
        for a in raised
    )
    return Rate(in_time, len(raised))


@dataclass(frozen=True)
class OutcomeFigures:
    people: int
    mean_baseline: float | None
    mean_latest: float | None
    mean_change: float | None
    reliable_improvement: Rate
    response: Rate
    remission: Rate


def outcome_pairs(
    scores: Iterable[Score], instrument: Instrument, period: Period
) -> Counter[tuple[int, int]]:
    """Who counts for outcomes, as (baseline, latest) totals and how many episodes have each:
    episodes with a baseline and a later score by the end of the period, the latest of them
    taken in the period. Baseline = the episode's first score, latest = its last score up to
    the period's end."""
    by_episode: dict[str, list[Score]] = {}
    for score in scores:
        if (
            score.instrument == instrument.name
            and in_agency_zone(score.taken_at).date() <= period.end
        ):
            by_episode.setdefault(score.episode_id, []).append(score)
    pairs: Counter[tuple[int, int]] = Counter()
    for series in by_episode.values():
        series.sort(key=lambda s: s.taken_at)
        if len(series) >= 2 and series[-1].taken_at in period:
            pairs[series[0].total, series[-1].total] += 1
    return pairs


def outcome_figures(pairs: Mapping[tuple[int, int], int], instrument: Instrument) -> OutcomeFigures:
    """Change from baseline over the episodes of ``outcome_pairs`` (each pair counted as many
    times as episodes have it): change = latest - baseline (negative is better). Reliable
    improvement: baseline - latest >= the instrument's reliable change (PHQ-9 6, GAD-7 4), over
    all those people. Response: latest <= baseline / 2; remission: latest below 5 — both over
    people whose baseline was in the clinical range (>= 10)."""
    count = sum(pairs.values())
    clinical = {(b, last): n for (b, last), n in pairs.items() if b >= instrument.clinical_cutoff}
    in_clinical = sum(clinical.values())

    def mean(value: Callable[[int, int], int]) -> float | None:
        total = sum(value(b, last) * n for (b, last), n in pairs.items())
        return round(total / count, 2) if count else None

    def people(which: Mapping[tuple[int, int], int], rule: Callable[[int, int], bool]) -> int:
        return sum(n for (b, last), n in which.items() if rule(b, last))

    return OutcomeFigures(
        people=count,
        mean_baseline=mean(lambda b, _: b),
        mean_latest=mean(lambda _, last: last),
        mean_change=mean(lambda b, last: last - b),
        reliable_improvement=Rate(
            people(pairs, lambda b, last: b - last >= instrument.reliable_change), count
        ),
        response=Rate(people(clinical, lambda b, last: last * 2 <= b), in_clinical),
        remission=Rate(
            people(clinical, lambda _, last: last < instrument.remission_below), in_clinical
        ),
    )


def outcomes(scores: Iterable[Score], instrument: Instrument, period: Period) -> OutcomeFigures:
    """PHQ-9/GAD-7 outcomes of a period: ``outcome_figures`` over ``outcome_pairs``."""
    return outcome_figures(outcome_pairs(scores, instrument, period), instrument)


def discharges_by_reason(episodes: Iterable[Episode], period: Period) -> dict[str, int]:
    """Episodes discharged in the period, counted by reason code."""
    return dict(
        sorted(
            Counter(
                e.discharge_reason or "unstated"
                for e in episodes
                if e.discharged_at is not None and e.discharged_at in period
            ).items()
        )
    )


# -- small cells --------------------------------------------------------------------------------
Cell = int | float | str | None


def suppress(people: int) -> int | str:
    """A count of people: 1 to 4 shown as "< 5" (0 reveals nobody)."""
    return SUPPRESSED if 0 < people < SMALL_CELL else people


def suppress_breakdown(counts: Mapping[str, int]) -> tuple[dict[str, int | str], int | str]:
    """Cells of a breakdown and their total. When any cell is suppressed the total is too, since
    total minus the shown cells would give the hidden one back."""
    cells = {key: suppress(value) for key, value in counts.items()}
    total = sum(counts.values())
    hidden = any(cell == SUPPRESSED for cell in cells.values())
    return cells, (SUPPRESSED if hidden and total else suppress(total))


def suppress_rate(rate: Rate) -> dict[str, Cell]:
    """A rate and its counts. The share is withheld when the denominator is small or when the
    people counted, or the people not counted, are 1 to 4 (either could be worked back)."""
    small = rate.out_of < SMALL_CELL or any(
        0 < part < SMALL_CELL for part in (rate.people, rate.out_of - rate.people)
    )
    return {
        "people": SUPPRESSED if small and rate.people else rate.people,
        "out_of": suppress(rate.out_of),
        "share": None if small else rate.share,
    }


def suppress_duration(figure: Duration) -> dict[str, Cell]:
    """A median over fewer than 5 people is withheld with its count."""
    small = 0 < figure.people < SMALL_CELL
    return {
        "people": suppress(figure.people),
        "median_days": None if small else figure.median_days,
    }
