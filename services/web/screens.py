"""What each screen shows, computed from the APIs' answers: plain functions, no Flask, so the
rules (sorting, overdue, the C-SSRS branching, the crisis banner) are tested without a server."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from shared.clock import agency_zone

#: The 13 life domains of the needs assessment, in the order the form asks them.
LIFE_DOMAINS: tuple[str, ...] = (
    "mental_state",
    "physical_health",
    "co_occurring_conditions",
    "substance_use",
    "safety_to_self",
    "safety_to_others",
    "relationships",
    "work_and_education",
    "leisure",
    "daily_living_skills",
    "income",
    "housing",
    "rights_and_advocacy",
)
NEED_RATINGS = ("no_need", "met_need", "unmet_need")
SAFETY_PLAN_SECTIONS: tuple[str, ...] = (
    "warning_signs",
    "internal_coping_strategies",
    "distraction_people_and_places",
    "people_to_ask_for_help",
    "professionals_and_crisis_lines",
    "making_environment_safe",
)
CONSENT_CATEGORIES = ("contact_details", "diagnosis", "assessment_summary", "risk_information")
RESPONSIBLE = ("client", "case_manager", "nominated_person", "partner_service")
RISK_ORDER = {"high": 3, "moderate": 2, "low": 1, "none": 0, None: 0}
SORTS = ("risk", "name", "review", "last_contact", "reference")


def label(value: str | None) -> str:
    """``work_and_education`` as people read it."""
    return (value or "").replace("_", " ").capitalize()


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def parse_day(value: Any) -> date | None:
    if not value:
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def parse_moment(value: Any) -> datetime | None:
    """An API date-time (ISO 8601, ``Z`` allowed); None when absent or unreadable, so a field a
    service has not started sending yet shows as "—"."""
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class CaseloadRow:
    client_id: str
    reference: str
    name: str
    date_of_birth: date | None
    risk: str | None
    open_flags: int
    next_review: date | None
    last_assessed: date | None
    overdue: tuple[str, ...]
    last_contact: datetime | None = None

    @property
    def risk_rank(self) -> int:
        return RISK_ORDER.get(self.risk, 0)


def caseload_rows(
    entries: Iterable[Mapping[str, Any]],
    today: date,
    *,
    overdue_reviews: Iterable[Mapping[str, Any]] = (),
    last_assessed: Mapping[str, date] | None = None,
) -> list[CaseloadRow]:
    """One row per client on the caseload, with what is overdue spelled out."""
    overdue_by_client: dict[str, list[str]] = {}
    for review in overdue_reviews:
        overdue_by_client.setdefault(review["client_id"], []).append(
            f"plan review due {review['due_on']}"
        )
    rows = []
    for entry in entries:
        client = entry["client"]
        next_review = parse_day(entry.get("next_review_due"))
        overdue = list(overdue_by_client.get(client["id"], []))
        if next_review and next_review < today and not overdue:
            overdue.append(f"plan review due {next_review.isoformat()}")
        rows.append(
            CaseloadRow(
                client_id=client["id"],
                reference=client["reference"],
                name=f"{client['given_name']} {client['family_name']}",
                date_of_birth=parse_day(client.get("date_of_birth")),
                risk=entry.get("highest_open_risk"),
                open_flags=int(entry.get("open_risk_flags") or 0),
                next_review=next_review,
                last_assessed=(last_assessed or {}).get(client["id"]),
                overdue=tuple(overdue),
                last_contact=parse_moment(entry.get("last_contact_at")),
            )
        )
    return rows


def filter_and_sort(
    rows: Sequence[CaseloadRow],
    *,
    query: str = "",
    risk: str = "",
    overdue_only: bool = False,
    sort: str = "risk",
) -> list[CaseloadRow]:
    """Search by name, reference or birth date (YYYY-MM-DD); filter by risk or overdue work."""
    needle = query.strip().lower()
    chosen = [
        row
        for row in rows
        if (
            not needle
            or needle in row.name.lower()
            or needle == row.reference.lower()
            or (row.date_of_birth is not None and needle == row.date_of_birth.isoformat())
        )
        and (not risk or (row.risk or "none") == risk)
        and (not overdue_only or row.overdue)
    ]
    keys = {
        "risk": lambda row: (-row.risk_rank, -len(row.overdue), row.name.lower()),
        "name": lambda row: row.name.lower(),
        "review": lambda row: (row.next_review is None, row.next_review or date.max),
        # Never seen first, then the longest since the last contact.
        "last_contact": lambda row: (
            row.last_contact is not None,
            row.last_contact.timestamp() if row.last_contact else 0.0,
            row.name.lower(),
        ),
        "reference": lambda row: row.reference,
    }
    return sorted(chosen, key=keys.get(sort, keys["risk"]))


def urgent_alerts(inbox: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Urgent items not yet acknowledged: while any is left, every page shows the crisis banner."""
    return [
        item
        for item in inbox
        if item.get("urgency") == "urgent" and not item.get("acknowledged_at")
    ]


def banner_state(alerts: Iterable[Mapping[str, Any]], unknown: str | None = None) -> str:
    """What the crisis banner shows, in a few characters: an open page sends it with each
    check, and only a banner that changed is sent back (one that stayed the same is not
    swapped, so a screen reader does not announce the same alert again every half minute)."""
    shown = sorted(str(alert.get("notification_id")) for alert in alerts)
    if unknown:
        shown.append(f"unknown:{unknown}")
    return hashlib.sha256("|".join(shown).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ScorePoint:
    day: date
    phq9: int | None
    gad7: int | None
    #: The instrument's severity band as intake scored it (``moderately_severe``…).
    phq9_severity: str | None = None
    gad7_severity: str | None = None


def score_history(assessments: Iterable[Mapping[str, Any]]) -> list[ScorePoint]:
    """PHQ-9 and GAD-7 totals over time, oldest first (superseded versions left out)."""
    points = []
    for assessment in assessments:
        if assessment.get("superseded_by_id"):
            continue
        phq9, gad7 = assessment.get("phq9") or {}, assessment.get("gad7") or {}
        points.append(
            ScorePoint(
                parse_day(assessment["completed_at"]) or date.min,
                phq9.get("total"),
                gad7.get("total"),
                phq9.get("severity"),
                gad7.get("severity"),
            )
        )
    return sorted(points, key=lambda point: point.day)


#: Where the chart's scale is marked: the severity cut-offs PHQ-9 and GAD-7 share (5 mild,
#: 10 moderate, 15 moderately severe / severe), PHQ-9's 20 (severe) and its maximum.
SCORE_TICKS = (0, 5, 10, 15, 20, 27)


def chart(points: Sequence[ScorePoint], *, width: int = 480, height: int = 180) -> dict[str, Any]:
    """A small SVG chart of the totals (against PHQ-9's 0-27 scale, its severity cut-offs
    marked), drawn on the server: no script, and the same numbers are in a table beside it
    for screen readers. A single assessment sits in the middle, not against the axis."""
    left, right, top, bottom = 32, 16, 8, 24

    def place(index: int, value: int) -> tuple[float, float]:
        share = index / (len(points) - 1) if len(points) > 1 else 0.5
        x = left + (width - left - right) * share
        y = height - bottom - (height - top - bottom) * value / 27
        return round(x, 1), round(y, 1)

    lines = {}
    for name in ("phq9", "gad7"):
        coords = [
            place(index, getattr(point, name))
            for index, point in enumerate(points)
            if getattr(point, name) is not None
        ]
        lines[name] = {"points": " ".join(f"{x},{y}" for x, y in coords), "dots": coords}
    days = []
    if points:
        days.append(
            (place(0, 0)[0], points[0].day.isoformat(), "start" if len(points) > 1 else "middle")
        )
        if len(points) > 1:
            days.append((place(len(points) - 1, 0)[0], points[-1].day.isoformat(), "end"))
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "baseline": height - bottom,
        "ticks": [(value, place(0, value)[1]) for value in SCORE_TICKS],
        "days": days,
        "lines": lines,
    }


def timeline(
    *,
    assessments: Iterable[Mapping[str, Any]] = (),
    plans: Iterable[Mapping[str, Any]] = (),
    referrals: Iterable[Mapping[str, Any]] = (),
    notifications: Iterable[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """The client's history, newest first: one line per assessment, plan, referral, alert."""
    events: list[dict[str, Any]] = []
    for a in assessments:
        events.append(
            {
                "at": a["completed_at"],
                "kind": "Assessment",
                "text": f"Version {a['version']}: risk {a['risk_level']}"
                + (f" (PHQ-9 {a['phq9']['total']})" if a.get("phq9") else ""),
            }
        )
    for plan in plans:
        events.append(
            {
                "at": plan.get("approved_at") or plan["created_at"],
                "kind": "Plan",
                "text": f"Plan {label(plan['status']).lower()}, version {plan['current_version']}",
                "plan_id": plan["id"],
            }
        )
    for referral in referrals:
        events.append(
            {
                "at": referral["updated_at"],
                "kind": "Referral",
                "text": f"Referral to {referral['organization_id'] or 'a service still to choose'}: "
                f"{label(referral['status']).lower()}",
                "referral_id": referral["id"],
            }
        )
    for item in notifications:
        events.append({"at": item["created_at"], "kind": "Notification", "text": item["subject"]})
    return sorted(events, key=lambda event: str(event["at"]), reverse=True)


def consent_summary(consents: Iterable[Mapping[str, Any]]) -> list[str]:
    """'housing-first: contact details, risk information' for each consent in force."""
    return [
        f"{consent['organization_id']}: {', '.join(label(c).lower() for c in consent['categories'])}"
        for consent in consents
        if consent.get("in_force")
    ]


def lines(text: str | None) -> list[str]:
    """One entry per non-empty line of a text area."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


#: The channels a member of staff chooses from (webhooks are set up through the API).
STAFF_CHANNELS = (("in_app", "In Casehub (the inbox)"), ("email", "By e-mail"))


def preferences_body(form: Any) -> dict[str, Any]:
    """The preferences as notifications takes them: an empty time is none (no quiet hours, no
    digest), and an empty address is none."""

    def time_or_none(name: str) -> str | None:
        value = (form.get(name) or "").strip()
        return f"{value}:00" if len(value) == 5 else (value or None)

    return {
        "email": (form.get("email") or "").strip() or None,
        "channels": form.getlist("channels"),
        "time_zone": (form.get("time_zone") or "").strip() or "UTC",
        "quiet_start": time_or_none("quiet_start"),
        "quiet_end": time_or_none("quiet_end"),
        "daily_digest_at": time_or_none("daily_digest_at"),
    }


#: Intake's reasons for a discharge, as the form offers them.
DISCHARGE_REASONS = (
    ("goals_met", "Goals met"),
    ("moved_away", "Moved away"),
    ("transferred", "Transferred to another service"),
    ("declined_service", "Declined the service"),
    ("deceased", "Deceased"),
    ("other", "Other"),
)


def discharge_summary_body(form: Mapping[str, str]) -> dict[str, Any]:
    """The summary as planning takes it: a text area's lines are its list entries, and an
    empty text is no text (not an empty string the summary would show)."""
    return {
        "reason": (form.get("reason") or "").strip() or None,
        "services_received": lines(form.get("services_received")),
        "follow_up": (form.get("follow_up") or "").strip() or None,
        "told": lines(form.get("told")),
    }


def safety_plan_body(form: Mapping[str, str]) -> dict[str, list[str]]:
    return {section: lines(form.get(section)) for section in SAFETY_PLAN_SECTIONS}


def team_load(managers: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each case manager's load against the cap, the fullest first."""
    rows = [
        {
            **manager,
            "percent": round(100 * manager["active_clients"] / max(manager["caseload_cap"], 1)),
            "over_cap": manager["active_clients"] > manager["caseload_cap"],
        }
        for manager in managers
    ]
    return sorted(rows, key=lambda row: -row["percent"])


def latest(items: Iterable[Mapping[str, Any]], key: str) -> Mapping[str, Any] | None:
    ordered = sorted(items, key=lambda item: str(item.get(key) or ""))
    return ordered[-1] if ordered else None


def when(value: Any) -> str:
    """A timestamp as a short local-looking text (the API's ISO form, minutes kept)."""
    if not value:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    text = str(value)
    return text[:16].replace("T", " ")


def local_time(value: Any) -> str:
    """An API date-time on the agency's clock (``CASEHUB_TIMEZONE``), minutes kept."""
    moment = parse_moment(value)
    if moment is None:
        return when(value)
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(agency_zone()).strftime("%Y-%m-%d %H:%M")


# --- casework: contacts, appointments, the worklist ----------------------------------------------

#: Planning's modes of contact; collateral is a contact with another professional about the client.
CONTACT_MODES: tuple[str, ...] = (
    "face_to_face",
    "phone",
    "video",
    "home_visit",
    "outreach",
    "group",
    "collateral",
)
#: Who took part, as ticked on the form; professionals and others are named one per line.
PARTICIPANTS_TICKED: tuple[str, ...] = ("client", "nominated_person", "family")
DAP_SECTIONS: tuple[tuple[str, str], ...] = (
    ("data", "Data: what was seen and said"),
    ("assessment", "Assessment: what it means"),
    ("plan", "Plan: what happens next"),
)


class FormValues(Protocol):
    """A posted form (werkzeug's MultiDict): one value, or every value of a repeated field."""

    def get(self, key: str, default: Any = ...) -> Any: ...

    def getlist(self, key: str) -> list[str]: ...


def agency_moment(text: str | None) -> str | None:
    """A ``datetime-local`` field (no zone: the person means the agency's clock) as the aware
    ISO date-time the APIs want; None when empty, the text itself when unreadable (the API's
    422 then names the field)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=agency_zone())
    return moment.isoformat()


def datetime_field(moment: datetime) -> str:
    """A moment as a ``datetime-local`` value on the agency's clock."""
    return moment.astimezone(agency_zone()).strftime("%Y-%m-%dT%H:%M")


def _whole_number(text: str | None) -> int | str | None:
    text = (text or "").strip()
    if not text:
        return None
    return int(text) if text.isdigit() else text


def dap_note(form: FormValues) -> dict[str, str]:
    """The DAP sections written on the form (blank ones left out: signing needs all three)."""
    return {
        section: form.get(f"note_{section}", "").strip()
        for section, _ in DAP_SECTIONS
        if form.get(f"note_{section}", "").strip()
    }


def contact_body(form: FormValues) -> dict[str, Any]:
    """The API's contact from the form; what is left blank is left out, so the API names each
    missing field in its 422."""
    ticked = set(form.getlist("participants"))
    participants: list[dict[str, Any]] = [
        {"kind": kind} for kind in PARTICIPANTS_TICKED if kind in ticked
    ]
    participants += [
        {"kind": "professional", "description": who} for who in lines(form.get("professionals"))
    ]
    participants += [{"kind": "other", "description": who} for who in lines(form.get("others"))]
    body: dict[str, Any] = {
        "contact_type": form.get("contact_type") or None,
        "occurred_at": agency_moment(form.get("occurred_at")),
        "duration_minutes": _whole_number(form.get("duration_minutes")),
        "location": (form.get("location") or "").strip() or None,
        "participants": participants,
        "purpose": (form.get("purpose") or "").strip() or None,
        "note": dap_note(form),
        "goal_ids": form.getlist("goal_ids"),
        "sign": form.get("sign") == "yes",
    }
    return {key: value for key, value in body.items() if value is not None}


def appointment_body(form: FormValues) -> dict[str, Any]:
    """The API's appointment from the form: a place or an https video link, and with whom."""
    body: dict[str, Any] = {
        "starts_at": agency_moment(form.get("starts_at")),
        "duration_minutes": _whole_number(form.get("duration_minutes")),
        "location": (form.get("location") or "").strip() or None,
        "video_link": (form.get("video_link") or "").strip() or None,
        "with_whom": lines(form.get("with_whom")),
    }
    return {key: value for key, value in body.items() if value is not None}


def goal_names(plan: Mapping[str, Any] | None) -> dict[str, str]:
    """Each goal of the plan (its working version) by id, as the contact form and the contact
    name it."""
    content = ((plan or {}).get("working_version") or {}).get("content") or {}
    return {
        goal["id"]: f"{label(goal['domain'])}: {goal.get('in_own_words') or ''}".rstrip(": ")
        for goal in content.get("goals") or []
    }


def worklist_groups(tasks: Iterable[Mapping[str, Any]], today: date) -> list[dict[str, Any]]:
    """The day's tasks as the API orders them (due date, then priority), under Late, Today and
    Coming up; empty groups left out."""
    groups: dict[str, list[Mapping[str, Any]]] = {"Late": [], "Today": [], "Coming up": []}
    for task in tasks:
        due = parse_day(task.get("due_on"))
        if task.get("late") or (due is not None and due < today):
            groups["Late"].append(task)
        elif due == today:
            groups["Today"].append(task)
        else:
            groups["Coming up"].append(task)
    return [{"title": title, "tasks": found} for title, found in groups.items() if found]


def supervised_teams(
    managers: Iterable[Mapping[str, Any]], supervisor: str, *, every_team: bool = False
) -> list[str]:
    """The teams whose worklist a supervisor may read (an admin: every team)."""
    return sorted(
        {
            str(m["team"])
            for m in managers
            if m.get("team") and (every_team or m.get("supervisor_id") == supervisor)
        }
    )
