"""Casework rules as plain Python: crisis episodes and their follow-ups, contacts, appointments,
tasks and the continuity of a closed record.

Split from ``domain.py`` (the plan's own rules) so each stays short; no framework imports here
either, and the API, the models and the event handlers all apply these rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from enum import IntEnum, StrEnum
from types import MappingProxyType

from services.planning.domain import is_blank, status_label

# --- Crisis episodes ----------------------------------------------------------------------------

#: What was done in a crisis (recorded as it happens, each with who and when).
CRISIS_ACTIONS: tuple[str, ...] = (
    "safety_plan_reviewed",
    "means_restriction",
    "emergency_services_called",
    "admission",
)
#: How a crisis episode ended.
CRISIS_OUTCOMES: tuple[str, ...] = (
    "stabilised_in_community",
    "admitted",
    "transferred",
    "other",
)
#: Why a crisis episode opened: a high risk flag, or a discharge from hospital.
CRISIS_SOURCES: tuple[str, ...] = ("risk_flag", "hospital_discharge")
#: The follow-up contacts after a crisis or a hospital discharge, and how soon each is due.
FOLLOW_UPS: tuple[tuple[str, timedelta], ...] = (
    ("contact_within_24h", timedelta(hours=24)),
    ("contact_within_72h", timedelta(hours=72)),
)


def follow_up_schedule(start: datetime) -> list[tuple[str, datetime]]:
    """Each follow-up contact and when it falls due, counted from the crisis or the discharge."""
    return [(kind, start + after) for kind, after in FOLLOW_UPS]


# --- Casework: contacts, appointments, tasks ----------------------------------------------------


class ContactType(StrEnum):
    """How the case manager met the client, or (collateral) another professional about them."""

    FACE_TO_FACE = "face_to_face"
    PHONE = "phone"
    VIDEO = "video"
    HOME_VISIT = "home_visit"
    OUTREACH = "outreach"
    GROUP = "group"
    COLLATERAL = "collateral"


#: A contact written up later than this after it happened is marked late (funders count them).
LATE_RECORDING = timedelta(hours=24)


def is_late_recording(occurred_at: datetime, recorded_at: datetime) -> bool:
    """More than 24 hours between the contact and its note: the note is from memory."""
    return recorded_at - occurred_at > LATE_RECORDING


class AppointmentStatus(StrEnum):
    SCHEDULED = "scheduled"
    ATTENDED = "attended"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    RESCHEDULED = "rescheduled"


#: from -> the statuses it may move to. Only a scheduled appointment moves; the rest are final.
APPOINTMENT_TRANSITIONS: Mapping[AppointmentStatus, frozenset[AppointmentStatus]] = (
    MappingProxyType(
        {
            AppointmentStatus.SCHEDULED: frozenset(
                {
                    AppointmentStatus.ATTENDED,
                    AppointmentStatus.CANCELLED,
                    AppointmentStatus.NO_SHOW,
                    AppointmentStatus.RESCHEDULED,
                }
            ),
            AppointmentStatus.ATTENDED: frozenset(),
            AppointmentStatus.CANCELLED: frozenset(),
            AppointmentStatus.NO_SHOW: frozenset(),
            AppointmentStatus.RESCHEDULED: frozenset(),
        }
    )
)


class IllegalAppointmentMove(Exception):
    """An appointment that already happened (or did not) keeps its outcome."""

    def __init__(self, current: str, requested: str) -> None:
        super().__init__(current, requested)
        self.current, self.requested = AppointmentStatus(current), AppointmentStatus(requested)
        self.allowed = sorted(s.value for s in APPOINTMENT_TRANSITIONS[self.current])

    def __str__(self) -> str:
        return (
            f"An appointment that is {status_label(self.current)} cannot become "
            f"{status_label(self.requested)}; allowed: {', '.join(self.allowed) or 'none'}"
        )


def move_appointment(current: str, requested: str) -> AppointmentStatus:
    status, target = AppointmentStatus(current), AppointmentStatus(requested)
    if target not in APPOINTMENT_TRANSITIONS[status]:
        raise IllegalAppointmentMove(status, target)
    return target


#: Why an appointment with neither a place nor a video link is refused (the client would not know
#: where to go, and a reminder could not say whether it is a visit or a call).
NOWHERE = "an appointment needs a place or a video link (or both)"


def has_somewhere(location: str | None, video_link: str | None) -> bool:
    """A place or a link that is more than blank space."""
    return bool((location or "").strip() or (video_link or "").strip())


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    DISMISSED = "dismissed"


class TaskPriority(IntEnum):
    """Ordered so the worklist sorts the most pressing first."""

    URGENT = 0
    HIGH = 1
    NORMAL = 2
    LOW = 3


class TaskSource(StrEnum):
    """Where a task came from; each source makes its task once (a unique source key)."""

    MANUAL = "manual"
    STRATEGY_DUE = "strategy_due"
    REVIEW_DUE = "review_due"
    REFERRAL_REJECTED = "referral_rejected"
    REFERRAL_FAILED = "referral_failed"
    REFERRAL_OVERDUE = "referral_overdue"
    CONSENT_EXPIRING = "consent_expiring"
    NO_SHOW = "no_show"
    SAFETY_PLAN_MISSING = "safety_plan_missing"
    REASSESSMENT_DUE = "reassessment_due"
    CRISIS_FOLLOW_UP = "crisis_follow_up"


#: How each crisis follow-up reads on the worklist, and how pressing it is: they are tasks like
#: any other (one worklist), with the exact time they fall due.
FOLLOW_UP_TASKS: Mapping[str, tuple[str, TaskPriority]] = MappingProxyType(
    {
        "contact_within_24h": (
            "Contact the client within 24 hours of the crisis",
            TaskPriority.URGENT,
        ),
        "contact_within_72h": (
            "Contact the client within 72 hours of the crisis",
            TaskPriority.HIGH,
        ),
    }
)


#: Days a former case manager keeps read access to a discharged client's record (hand-over).
CONTINUITY_DAYS = 30

#: A consent this close to its end makes a task to renew it (or to stop sharing).
CONSENT_WARNING_DAYS = 14


def consent_needs_renewal(expires_on: date | None, today: date) -> bool:
    return expires_on is not None and expires_on - timedelta(days=CONSENT_WARNING_DAYS) <= today


def close_task(current: str, requested: str, reason: str | None) -> TaskStatus:
    """An open task is done or dismissed once; dismissing says why (what the supervisor reads)."""
    status, target = TaskStatus(current), TaskStatus(requested)
    if status is not TaskStatus.OPEN or target is TaskStatus.OPEN:
        raise IllegalTaskMove(status, target)
    if target is TaskStatus.DISMISSED and is_blank(reason):
        raise ValueError("a dismissed task needs a reason")
    return target


class IllegalTaskMove(Exception):
    def __init__(self, current: TaskStatus, requested: TaskStatus) -> None:
        super().__init__(current, requested)
        self.current, self.requested = current, requested

    def __str__(self) -> str:
        return f"The task is already {self.current}; it cannot become {self.requested}."
