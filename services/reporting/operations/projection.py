"""Events into the read model. Each projector fills only the columns its event knows, keyed by
the natural id, so redelivered or out-of-order events leave the same rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from services.reporting.models import (
    AcknowledgementFact,
    AssignmentFact,
    CrisisAlertFact,
    EpisodeFacts,
    ReferralFact,
    ReviewFact,
    ScoreFact,
    StaffMember,
)
from shared.contracts import Event

Projector = Callable[[Session, Event], None]
Row = TypeVar("Row")


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _earliest(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if current is None or (candidate is not None and candidate < current):
        return candidate
    return current


#: ``session.info`` key of the rows a rebuild has made so far: into an emptied read model,
#: a key not among them is new, so no query is needed to find out. Should the live consumer
#: have made the row meanwhile, the insert fails on its key and the rebuild redoes that chunk
#: without this shortcut (rebuild.py).
REBUILT_KEYS = "reporting_rebuilt_keys"


#: ``session.info`` key of the rows a rebuild's transaction holds, by key: a second event about
#: a row added moments ago finds it here, where ``session.get`` would flush and query.
REBUILT_ROWS = "reporting_rebuilt_rows"


def _row(session: Session, model: type[Row], key: str, **defaults: Any) -> Row:
    """The row for ``key``, added with ``defaults`` if this is the first event about it."""
    rebuilt: set[tuple[type, str]] | None = session.info.get(REBUILT_KEYS)
    if rebuilt is None:
        row = session.get(model, key)
        if row is None:
            row = model(**defaults)
            session.add(row)
        return row
    held: dict[tuple[type, str], Any] = session.info.setdefault(REBUILT_ROWS, {})
    found = held.get((model, key))
    if found is not None:
        return found  # type: ignore[no-any-return]
    row = session.get(model, key) if (model, key) in rebuilt else None  # an earlier chunk's
    if row is None:
        rebuilt.add((model, key))
        row = model(**defaults)
        session.add(row)
    held[(model, key)] = row
    return row


def _episode(session: Session, data: Mapping[str, Any]) -> EpisodeFacts:
    episode = _row(
        session,
        EpisodeFacts,
        data["episode_id"],
        episode_id=data["episode_id"],
        client_id=data["client_id"],
    )
    return episode


def _state_programme(episode: EpisodeFacts, programme: str | None, at: datetime) -> None:
    """The programme stated by the newest event wins (a late, older one changes nothing)."""
    if programme and (episode.programme_stated_at is None or at >= episode.programme_stated_at):
        episode.programme, episode.programme_stated_at = programme, at


def on_registered(session: Session, event: Event) -> None:
    data = event.data
    episode = _episode(session, data)
    at = _moment(data.get("registered_at") or data.get("readmitted_at"))
    episode.registered_at = at
    if at is not None:
        _state_programme(episode, data.get("programme"), at)


def on_assigned(session: Session, event: Event) -> None:
    data = event.data
    at = _moment(data["assigned_at"])
    assert at is not None
    _state_programme(_episode(session, data), data.get("programme"), at)
    _row(
        session,
        AssignmentFact,
        event.id,
        event_id=event.id,
        episode_id=data["episode_id"],
        case_manager_id=data["case_manager_id"],
        assigned_at=at,
    )


def on_discharged(session: Session, event: Event) -> None:
    data = event.data
    episode = _episode(session, data)
    episode.discharged_at = _moment(data["discharged_at"])
    episode.discharge_reason = data["reason_code"]


def on_case_manager_updated(session: Session, event: Event) -> None:
    """The newest version wins: the row is locked while its version is compared, so two
    versions handled at the same moment by two workers never leave the older one."""
    data = event.data
    staff = session.get(StaffMember, data["case_manager_id"], with_for_update=True)
    if staff is not None and staff.version > data["version"]:
        return
    if staff is None:
        staff = StaffMember(case_manager_id=data["case_manager_id"])
        session.add(staff)
    staff.team, staff.supervisor_id = data["team"], data.get("supervisor_id")
    staff.caseload_cap, staff.active = data["caseload_cap"], data["active"]
    staff.version = data["version"]


def on_assessment_completed(session: Session, event: Event) -> None:
    data = event.data
    at = _moment(data["completed_at"])
    assert at is not None
    _state_programme(_episode(session, data), data.get("programme"), at)
    for instrument in ("phq9", "gad7"):
        summary = data.get(instrument)
        if summary is None:
            continue
        key = {"assessment_id": data["assessment_id"], "instrument": instrument}
        rebuilt: set[tuple[type, str]] | None = session.info.get(REBUILT_KEYS)
        if rebuilt is not None:
            marker = (ScoreFact, f"{data['assessment_id']}/{instrument}")
            new = marker not in rebuilt
            rebuilt.add(marker)
        else:
            new = session.query(ScoreFact).filter_by(**key).first() is None
        if new:
            session.add(
                ScoreFact(
                    **key,
                    supersedes_assessment_id=data.get("supersedes_assessment_id"),
                    episode_id=data["episode_id"],
                    total=summary["total"],
                    taken_at=at,
                )
            )


def on_risk_flagged(session: Session, event: Event) -> None:
    data = event.data
    _episode(session, data)
    _row(
        session,
        CrisisAlertFact,
        data["flag_id"],
        flag_id=data["flag_id"],
        episode_id=data["episode_id"],
        client_id=data["client_id"],
        level=data["level"],
        flagged_at=_moment(data["flagged_at"]),
    )


def on_plan_approved(session: Session, event: Event) -> None:
    data = event.data
    episode = _episode(session, data)
    episode.first_plan_approved_at = _earliest(
        episode.first_plan_approved_at, _moment(data["approved_at"])
    )


def on_review_due(session: Session, event: Event) -> None:
    data = event.data
    review = _row(session, ReviewFact, data["review_id"], review_id=data["review_id"])
    review.episode_id = data["episode_id"]
    review.due_on = date.fromisoformat(data["due_on"])


def on_plan_reviewed(session: Session, event: Event) -> None:
    data = event.data
    if not data.get("review_id"):
        return  # an unscheduled review: nothing was due
    review = _row(session, ReviewFact, data["review_id"], review_id=data["review_id"])
    review.episode_id = data["episode_id"]
    review.held_at = _earliest(review.held_at, _moment(data["reviewed_at"]))


def _referral(session: Session, data: Mapping[str, Any]) -> ReferralFact:
    return _row(
        session,
        ReferralFact,
        data["referral_id"],
        referral_id=data["referral_id"],
        client_id=data["client_id"],
        organization_id=data["organization_id"],
    )


def on_referral_sent(session: Session, event: Event) -> None:
    referral = _referral(session, event.data)
    referral.sent_at = _earliest(referral.sent_at, _moment(event.data["at"]))


def on_referral_status_changed(session: Session, event: Event) -> None:
    data = event.data
    if data.get("organization_id") is None:
        return  # a draft that never had a service: addressed to no one, not a referral yet
    referral = _referral(session, data)
    at = _moment(data["at"])
    if data["status"] == "accepted":
        referral.accepted_at = _earliest(referral.accepted_at, at)
    elif data["status"] == "rejected":
        referral.rejected_at = _earliest(referral.rejected_at, at)
        referral.rejection_reason = data.get("reason_code")
    elif data["status"] == "completed":
        referral.completed_at = _earliest(referral.completed_at, at)


def on_referral_completed(session: Session, event: Event) -> None:
    referral = _referral(session, event.data)
    referral.completed_at = _earliest(referral.completed_at, _moment(event.data["at"]))


def on_acknowledged(session: Session, event: Event) -> None:
    data = event.data
    if data["urgency"] != "urgent" or not data.get("client_id"):
        return
    _row(
        session,
        AcknowledgementFact,
        data["notification_id"],
        notification_id=data["notification_id"],
        client_id=data["client_id"],
        acknowledged_at=_moment(data["acknowledged_at"]),
    )


#: Event types the figures read; every other type is received and left (the archive keeps it).
PROJECTORS: dict[str, Projector] = {
    "casehub.intake.client.registered.v1": on_registered,
    "casehub.intake.client.readmitted.v1": on_registered,
    "casehub.intake.case.assigned.v1": on_assigned,
    "casehub.intake.client.discharged.v1": on_discharged,
    "casehub.intake.case_manager.updated.v1": on_case_manager_updated,
    "casehub.intake.assessment.completed.v1": on_assessment_completed,
    "casehub.intake.risk.flagged.v1": on_risk_flagged,
    "casehub.planning.plan.approved.v1": on_plan_approved,
    "casehub.planning.review.due.v1": on_review_due,
    "casehub.planning.plan.reviewed.v1": on_plan_reviewed,
    "casehub.referrals.referral.sent.v1": on_referral_sent,
    "casehub.referrals.referral.status_changed.v1": on_referral_status_changed,
    "casehub.referrals.referral.completed.v1": on_referral_completed,
    "casehub.notifications.notification.acknowledged.v1": on_acknowledged,
}


def project(session: Session, event: Event) -> None:
    projector = PROJECTORS.get(event.type)
    if projector is not None:
        projector(session, event)
