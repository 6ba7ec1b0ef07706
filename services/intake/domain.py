"""Intake rules as plain Python: instrument scoring, risk triage, caseload, matching, consent.

No framework imports here, so every rule is tested in milliseconds and the API, the models and
the event handlers all apply the same rules.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from shared import rules

# --- Errors -------------------------------------------------------------------------------------


class DomainError(Exception):
    """A rule refused the request; the web layer maps subclasses to problems."""


class InstrumentItemError(DomainError):
    """One answer of an instrument is missing, out of range or not allowed; names the item so the
    caller can point at the field."""

    def __init__(self, instrument: str, item: str, message: str) -> None:
        super().__init__(instrument, item, message)
        self.instrument = instrument
        self.item = item
        self.message = message

    def __str__(self) -> str:
        return f"{self.instrument}.{self.item}: {self.message}"


# --- Needs assessment ---------------------------------------------------------------------------


class NeedRating(StrEnum):
    NO_NEED = "no_need"
    MET_NEED = "met_need"
    UNMET_NEED = "unmet_need"


LIFE_DOMAINS = rules.LIFE_DOMAINS

_NEEDS_INSTRUMENT = "needs_assessment"


def unmet_needs(ratings: Mapping[str, NeedRating | str]) -> list[str]:
    """The domains rated unmet, in LIFE_DOMAINS order, because the plan is drafted from them.

    An unknown domain or rating is refused rather than skipped: silently dropping an unmet need
    would leave it out of the client's plan. Domains not rated are allowed (partial assessment).
    """
    unmet: set[str] = set()
    for domain, rating in ratings.items():
        if domain not in LIFE_DOMAINS:
            raise InstrumentItemError(_NEEDS_INSTRUMENT, str(domain), "is not a life domain")
        try:
            parsed = NeedRating(rating)
        except ValueError:
            raise InstrumentItemError(
                _NEEDS_INSTRUMENT, domain, "must be one of no_need, met_need, unmet_need"
            ) from None
        if parsed is NeedRating.UNMET_NEED:
            unmet.add(domain)
    return [domain for domain in LIFE_DOMAINS if domain in unmet]


# --- PHQ-9 and GAD-7 ----------------------------------------------------------------------------


class Severity(StrEnum):
    MINIMAL = "minimal"
    MILD = "mild"
    MODERATE = "moderate"
    MODERATELY_SEVERE = "moderately_severe"
    SEVERE = "severe"


_ITEM_MAX = 3

# (lowest total of the band, severity), highest band first.
_PHQ9_BANDS: tuple[tuple[int, Severity], ...] = (
    (20, Severity.SEVERE),
    (15, Severity.MODERATELY_SEVERE),
    (10, Severity.MODERATE),
    (5, Severity.MILD),
    (0, Severity.MINIMAL),
)
_GAD7_BANDS: tuple[tuple[int, Severity], ...] = (
    (15, Severity.SEVERE),
    (10, Severity.MODERATE),
    (5, Severity.MILD),
    (0, Severity.MINIMAL),
)


def _answers(instrument: str, items: Sequence[object], count: int) -> list[int]:
    """Checks every answer strictly (no bools, floats or numeric strings) so a client bug can
    never be scored as a plausible total."""
    if not isinstance(items, Sequence) or isinstance(items, str | bytes | bytearray):
        raise InstrumentItemError(instrument, "items", f"must be a list of {count} answers")
    if len(items) != count:
        raise InstrumentItemError(
            instrument, "items", f"must be exactly {count} answers, got {len(items)}"
        )
    answers: list[int] = []
    for number, answer in enumerate(items, start=1):
        if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer <= _ITEM_MAX:
            raise InstrumentItemError(
                instrument, f"item_{number}", f"must be an integer from 0 to {_ITEM_MAX}"
            )
        answers.append(int(answer))
    return answers


def _band(total: int, bands: tuple[tuple[int, Severity], ...]) -> Severity:
    return next(severity for lowest, severity in bands if total >= lowest)


@dataclass(frozen=True)
class Phq9Score:
    total: int
    severity: Severity
    item_9: int

    @property
    def needs_immediate_follow_up(self) -> bool:
        """Any thoughts of self-harm need follow-up whatever the total."""
        return self.item_9 > 0


def score_phq9(items: Sequence[object]) -> Phq9Score:
    """Scored on the server so a total can never disagree with its answers."""
    answers = _answers("phq9", items, 9)
    total = sum(answers)
    return Phq9Score(total=total, severity=_band(total, _PHQ9_BANDS), item_9=answers[8])


@dataclass(frozen=True)
class Gad7Score:
    total: int
    severity: Severity


def score_gad7(items: Sequence[object]) -> Gad7Score:
    """Scored on the server so a total can never disagree with its answers."""
    answers = _answers("gad7", items, 7)
    total = sum(answers)
    return Gad7Score(total=total, severity=_band(total, _GAD7_BANDS))


# --- Risk ---------------------------------------------------------------------------------------


class RiskLevel(StrEnum):
    """Ordered by severity (NONE < LOW < MODERATE < HIGH), not alphabetically as plain strings
    would be, so ``max`` and ``<`` give the clinically right answer."""

    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"

    @property
    def rank(self) -> int:
        """0 for NONE up to 3 for HIGH."""
        return _RISK_RANKS[self]

    def _rank_of(self, other: object) -> int:
        if isinstance(other, str):
            try:
                return RiskLevel(other).rank
            except ValueError:
                pass
        raise TypeError(f"cannot order a risk level against {other!r}")

    def __lt__(self, other: object) -> bool:
        return self.rank < self._rank_of(other)

    def __le__(self, other: object) -> bool:
        return self.rank <= self._rank_of(other)

    def __gt__(self, other: object) -> bool:
        return self.rank > self._rank_of(other)

    def __ge__(self, other: object) -> bool:
        return self.rank >= self._rank_of(other)


#: Each level's place in the order (an index lookup per comparison showed in the caseload).
_RISK_RANKS = {level: rank for rank, level in enumerate(RiskLevel)}


def risk_rank(level: RiskLevel | str) -> int:
    """0 for NONE up to 3 for HIGH; for sorting where a key function is wanted."""
    return RiskLevel(level).rank


def max_risk(*levels: RiskLevel | str) -> RiskLevel:
    """The most severe of the levels; NONE when there are none."""
    return max((RiskLevel(level) for level in levels), default=RiskLevel.NONE)


def opens_risk_flag(level: RiskLevel | str) -> bool:
    """Moderate or above means a person must act, so a flag is opened."""
    return RiskLevel(level) >= RiskLevel.MODERATE


@dataclass(frozen=True)
class CssrsAnswers:
    """The C-SSRS screener. Q3-Q5 are asked only if Q2 is yes; the 3-month follow-up of Q6 only
    if Q6 is yes. ``None`` means "not asked"."""

    wish_to_be_dead: bool
    suicidal_thoughts: bool
    method: bool | None = None
    intent: bool | None = None
    plan_with_intent: bool | None = None
    behaviour_ever: bool = False
    behaviour_past_3_months: bool | None = None


@dataclass(frozen=True)
class CssrsResult:
    level: RiskLevel
    reasons: tuple[str, ...]


_CSSRS = "cssrs"
_Q2 = "q2_suicidal_thoughts"
_Q6 = "q6_behaviour"


def _require_yes_no(item: str, answer: object, *, optional: bool) -> None:
    if isinstance(answer, bool) or (optional and answer is None):
        return
    allowed = "true, false or null" if optional else "true or false"
    raise InstrumentItemError(_CSSRS, item, f"must be {allowed}")


def _validate_cssrs(answers: CssrsAnswers) -> None:
    """The skip logic is part of the instrument: an answer to a question that was not asked, or
    a missing answer to one that was, means the screener was not administered as designed."""
    _require_yes_no("q1_wish_to_be_dead", answers.wish_to_be_dead, optional=False)
    _require_yes_no(_Q2, answers.suicidal_thoughts, optional=False)
    follow_ups = (
        ("q3_method", answers.method),
        ("q4_intent", answers.intent),
        ("q5_plan_with_intent", answers.plan_with_intent),
    )
    for item, answer in follow_ups:
        _require_yes_no(item, answer, optional=True)
    _require_yes_no(_Q6, answers.behaviour_ever, optional=False)
    _require_yes_no("q6_past_3_months", answers.behaviour_past_3_months, optional=True)

    for item, answer in follow_ups:
        if answers.suicidal_thoughts and answer is None:
            raise InstrumentItemError(_CSSRS, item, f"must be answered when {_Q2} is yes")
        if not answers.suicidal_thoughts and answer is not None:
            raise InstrumentItemError(_CSSRS, item, f"asked only when {_Q2} is yes")
    if answers.behaviour_ever and answers.behaviour_past_3_months is None:
        raise InstrumentItemError(_CSSRS, "q6_past_3_months", f"must be answered when {_Q6} is yes")
    if not answers.behaviour_ever and answers.behaviour_past_3_months:
        raise InstrumentItemError(_CSSRS, "q6_past_3_months", f"asked only when {_Q6} is yes")


def score_cssrs_screener(answers: CssrsAnswers) -> CssrsResult:
    """The most severe "yes" sets the level, not a sum; the reasons are the yeses at that level,
    worded by us (never client free text) because they travel in risk events."""
    _validate_cssrs(answers)
    recent = bool(answers.behaviour_ever and answers.behaviour_past_3_months)
    older = bool(answers.behaviour_ever and not answers.behaviour_past_3_months)
    yeses: tuple[tuple[bool, RiskLevel, str], ...] = (
        (answers.wish_to_be_dead, RiskLevel.LOW, "C-SSRS Q1: wish to be dead in the past month"),
        (
            answers.suicidal_thoughts,
            RiskLevel.LOW,
            "C-SSRS Q2: suicidal thoughts in the past month",
        ),
        (
            bool(answers.method),
            RiskLevel.MODERATE,
            "C-SSRS Q3: thought about a method in the past month",
        ),
        (bool(answers.intent), RiskLevel.HIGH, "C-SSRS Q4: suicidal intent in the past month"),
        (
            bool(answers.plan_with_intent),
            RiskLevel.HIGH,
            "C-SSRS Q5: suicide plan with intent in the past month",
        ),
        (recent, RiskLevel.HIGH, "C-SSRS Q6: suicidal behaviour within the past 3 months"),
        (older, RiskLevel.MODERATE, "C-SSRS Q6: suicidal behaviour more than 3 months ago"),
    )
    level = max_risk(*(level for yes, level, _ in yeses if yes))
    reasons = tuple(reason for yes, at, reason in yeses if yes and at is level)
    return CssrsResult(level=level, reasons=reasons)


@dataclass(frozen=True)
class RiskAssessment:
    level: RiskLevel
    reasons: tuple[str, ...]
    cssrs_screen_needed: bool


def assess_risk(phq9: Phq9Score | None, cssrs: CssrsResult | None) -> RiskAssessment:
    """Combines every instrument that speaks to risk: the highest level wins and every
    contributor's reasons are kept. PHQ-9 item 9 alone only screens, so it asks for a C-SSRS."""
    levels: list[RiskLevel] = []
    reasons: list[str] = []
    screen_needed = False
    if phq9 is not None and phq9.needs_immediate_follow_up:
        levels.append(RiskLevel.MODERATE)
        reasons.append(f"PHQ-9 item 9 (thoughts of self-harm) answered {phq9.item_9}")
        screen_needed = cssrs is None
    if cssrs is not None:
        levels.append(cssrs.level)
        reasons.extend(cssrs.reasons)
    return RiskAssessment(
        level=max_risk(*levels), reasons=tuple(reasons), cssrs_screen_needed=screen_needed
    )


# --- A whole assessment, scored -----------------------------------------------------------------


class AssessmentItemError(DomainError):
    """One answer of a submitted assessment is not acceptable; ``field`` is where it is in the
    request (``phq9.items``, ``cssrs.q3``) so the 422 can point at it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class AssessmentScore:
    """What the server makes of a submitted assessment, decided before anything is stored: the
    domain ratings and unmet needs, each instrument scored, and the risk they show together."""

    ratings: dict[str, dict[str, str | None]]
    unmet_needs: list[str]
    phq9: Phq9Score | None
    gad7: Gad7Score | None
    cssrs: CssrsResult | None
    risk: RiskAssessment

    @property
    def opens_risk_flag(self) -> bool:
        return opens_risk_flag(self.risk.level)

    def summary(self, instrument: str) -> dict[str, int | str] | None:
        """An instrument's total and severity as events carry it (no item answers)."""
        scored = self.phq9 if instrument == "phq9" else self.gad7
        return None if scored is None else {"total": scored.total, "severity": str(scored.severity)}


def score_assessment(submitted: Mapping[str, Any]) -> AssessmentScore:
    """Score every instrument submitted and rate the domains; raises ``AssessmentItemError``
    naming the first unacceptable answer."""

    def scored(name: str, scorer: Any, answers: Any) -> Any:
        try:
            return scorer(answers)
        except InstrumentItemError as error:
            raise AssessmentItemError(f"{name}.{error.item}", error.message) from None

    phq9 = scored("phq9", score_phq9, submitted["phq9"]["items"]) if submitted.get("phq9") else None
    gad7 = scored("gad7", score_gad7, submitted["gad7"]["items"]) if submitted.get("gad7") else None
    cssrs = (
        scored("cssrs", score_cssrs_screener, CssrsAnswers(**submitted["cssrs"]))
        if submitted.get("cssrs")
        else None
    )
    ratings: dict[str, dict[str, str | None]] = {
        name: {"rating": str(value["rating"]), "notes": value.get("notes")}
        for name, value in submitted["domains"].items()
    }
    return AssessmentScore(
        ratings=ratings,
        unmet_needs=unmet_needs({name: value["rating"] or "" for name, value in ratings.items()}),
        phq9=phq9,
        gad7=gad7,
        cssrs=cssrs,
        risk=assess_risk(phq9, cssrs),
    )


# --- Caseload -----------------------------------------------------------------------------------

DEFAULT_CASELOAD_CAP = 50


@dataclass(frozen=True)
class CaseManagerLoad:
    case_manager_id: str
    cap: int
    active_clients: int
    open_risk_flags: int

    def __post_init__(self) -> None:
        if self.cap < 0 or self.active_clients < 0 or self.open_risk_flags < 0:
            raise ValueError(f"caseload counts cannot be negative: {self!r}")

    @property
    def has_room(self) -> bool:
        return self.active_clients < self.cap


class CaseloadFull(DomainError):
    """The case manager is at or over their cap; only a supervisor, with a reason, may go over."""

    def __init__(self, case_manager_id: str, cap: int, active_clients: int) -> None:
        super().__init__(case_manager_id, cap, active_clients)
        self.case_manager_id = case_manager_id
        self.cap = cap
        self.active_clients = active_clients

    def __str__(self) -> str:
        return (
            f"case manager {self.case_manager_id} has {self.active_clients} active clients, "
            f"at or over their caseload cap of {self.cap}; a supervisor override with a reason "
            "is needed"
        )


class NoCaseManagerAvailable(DomainError):
    """Every case manager on the team is at their cap, so a person has to decide."""

    def __init__(self, team_name: str | None, size: int) -> None:
        super().__init__(team_name, size)
        self.team_name = team_name
        self.size = size

    def __str__(self) -> str:
        team = f"team {self.team_name}" if self.team_name else "the team"
        return f"Every case manager of {team} ({self.size}) is at their caseload cap."


def choose_case_manager(
    team: Sequence[CaseManagerLoad], *, team_name: str | None = None
) -> CaseManagerLoad:
    """Automatic assignment: the least-loaded case manager with room; ties go to the one holding
    fewer open risk flags, then by id so the choice is repeatable."""
    with_room = [load for load in team if load.has_room]
    if not with_room:
        raise NoCaseManagerAvailable(team_name, len(team))
    return min(
        with_room,
        key=lambda load: (load.active_clients, load.open_risk_flags, load.case_manager_id),
    )


@dataclass(frozen=True)
class AssignmentDecision:
    case_manager_id: str
    over_cap: bool
    override_reason: str | None


def decide_assignment(
    target: CaseManagerLoad, *, override_reason: str | None, by_supervisor: bool
) -> AssignmentDecision:
    """Validates a chosen case manager against their cap. Going over is a supervisor's decision
    and must be recorded with its reason; anyone else is refused."""
    if target.has_room:
        return AssignmentDecision(target.case_manager_id, over_cap=False, override_reason=None)
    reason = (override_reason or "").strip()
    if not (by_supervisor and reason):
        raise CaseloadFull(target.case_manager_id, target.cap, target.active_clients)
    return AssignmentDecision(target.case_manager_id, over_cap=True, override_reason=reason)


# --- Duplicate detection ------------------------------------------------------------------------

_APOSTROPHES = frozenset("'\u2018\u2019\u02bc\u02b9`\u00b4\u2032")


def _normalise_name(name: str) -> str:
    without_apostrophes = "".join(ch for ch in name if ch not in _APOSTROPHES)
    decomposed = unicodedata.normalize("NFKD", without_apostrophes.casefold())
    kept = (
        " " if unicodedata.category(ch) == "Pd" or ch == "|" else ch
        for ch in decomposed
        if not unicodedata.combining(ch)
    )
    return " ".join("".join(kept).split())


def birth_date_problem(born: date, today: date, earliest: date) -> str | None:
    """Why ``born`` cannot be a client's date of birth (a day after today in the agency's zone,
    or before ``earliest``, the first day any record may name), or None: such a date would stay
    in the record, its age figures and its duplicate matching, silently wrong."""
    if born > today:
        return f"must not be after today ({today.isoformat()})"
    if born < earliest:
        return f"must not be before {earliest.isoformat()}"
    return None


def person_key(given_name: str, family_name: str, date_of_birth: date) -> str:
    """A matching key for spotting a client registered twice, insensitive to case, accents,
    hyphens, apostrophes and spacing (the usual ways one name gets typed differently)."""
    birth = date(date_of_birth.year, date_of_birth.month, date_of_birth.day)
    return f"{_normalise_name(given_name)}|{_normalise_name(family_name)}|{birth.isoformat()}"


# --- Consent ------------------------------------------------------------------------------------


class DataCategory(StrEnum):
    CONTACT_DETAILS = "contact_details"
    DIAGNOSIS = "diagnosis"
    ASSESSMENT_SUMMARY = "assessment_summary"
    RISK_INFORMATION = "risk_information"


consent_in_force = rules.consent_in_force


# --- Episodes -----------------------------------------------------------------------------------


class EpisodeStatus(StrEnum):
    OPEN = "open"
    DISCHARGED = "discharged"


#: A client record merged into another by a duplicate review: closed, pointing to the survivor.
MERGED = "merged"
#: The discharge reason of a merged record's episode.
DUPLICATE_RECORD = "duplicate_record"


class DuplicateOutcome(StrEnum):
    """A reviewer's decision on two records with the same name and date of birth."""

    MERGED = "merged"  # one person: the newer record becomes a duplicate of the older
    DISTINCT = "distinct"  # two people: both records stay
