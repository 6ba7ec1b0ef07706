"""Where tasks come from: each event or scheduled fact that needs a person makes one task, keyed
by what it is about (so a redelivery, a second worker or a repeated approval adds nothing)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select

from services.planning import casework_domain, domain
from services.planning.models import ConsentExpiry, Plan, Review
from services.planning.operations.casework_access import carer_of_client
from services.planning.operations.tasks import Priority, Source, raise_task


def tasks_for_strategies(uow: Any, plan: Plan, content: Mapping[str, Any]) -> int:
    """Every strategy of an approved plan with a ``due_by`` is checked on that day."""
    made = 0
    for goal in content.get("goals") or []:
        if goal.get("status") == domain.GoalStatus.DISCONTINUED:
            continue
        for strategy in goal.get("strategies") or []:
            if not strategy.get("due_by"):
                continue
            made += (
                raise_task(
                    uow,
                    source=Source.STRATEGY_DUE,
                    key=f"strategy:{strategy['id']}:{strategy['due_by']}",
                    owner_id=plan.owner_id,
                    title=f"Strategy due ({goal.get('domain', '').replace('_', ' ')}): check it is done",
                    due_on=date.fromisoformat(strategy["due_by"]),
                    client=plan,
                )
                is not None
            )
    return made


def task_for_review(uow: Any, review: Review, plan: Plan) -> None:
    raise_task(
        uow,
        source=Source.REVIEW_DUE,
        key=f"review:{review.id}",
        owner_id=plan.owner_id,
        title="Plan review due: hold it with the client",
        due_on=review.due_on,
        priority=Priority.HIGH,
        client=plan,
    )


REFERRAL_SOURCES = {
    "rejected": (Source.REFERRAL_REJECTED, "Referral rejected by the partner: find another way"),
    "failed": (Source.REFERRAL_FAILED, "Referral failed at the partner: decide what next"),
    "overdue": (Source.REFERRAL_OVERDUE, "Partner has not answered the referral: chase it"),
}


def task_for_referral(uow: Any, data: Mapping[str, Any], what: str, today: date) -> None:
    """A referral that went wrong (or got no answer) goes back to whoever carries the client."""
    source, title = REFERRAL_SOURCES[what]
    plan = uow.session.get(Plan, data["plan_id"]) if data.get("plan_id") else None
    care = carer_of_client(uow, data["client_id"])
    holder = care or plan
    raise_task(
        uow,
        source=source,
        key=f"referral:{data['referral_id']}:{what}",
        owner_id=care.case_manager_id if care else (plan.owner_id if plan else None),
        title=title,
        due_on=today,
        priority=Priority.HIGH,
        client=holder,
    )


def task_for_missing_safety_plan(
    uow: Any, plan: Plan, data: Mapping[str, Any], approved: Mapping[str, Any] | None, today: date
) -> None:
    """A high risk flag on a client whose agreed plan has no complete safety plan."""
    if approved is not None and not domain.missing_safety_plan_sections(
        approved.get("safety_plan")
    ):
        return
    raise_task(
        uow,
        source=Source.SAFETY_PLAN_MISSING,
        key=f"risk:{data['flag_id']}:safety_plan",
        owner_id=plan.owner_id or data.get("case_manager_id"),
        title="High risk and no safety plan: write it with the client today",
        due_on=today,
        priority=Priority.URGENT,
        client=plan,
    )


def record_consent(uow: Any, data: Mapping[str, Any], today: date, *, revoked: bool) -> None:
    held = uow.session.get(ConsentExpiry, data["consent_id"], with_for_update=True)
    if held is None:
        held = ConsentExpiry(
            consent_id=data["consent_id"],
            client_id=data["client_id"],
            organization_id=data["organization_id"],
            revoked=False,
        )
        uow.session.add(held)
    if revoked:
        held.revoked = True
        return
    held.expires_on = data.get("expires_on")
    if not held.revoked:
        task_for_expiring_consent(uow, held, today)


def task_for_expiring_consent(uow: Any, consent: ConsentExpiry, today: date) -> None:
    if not casework_domain.consent_needs_renewal(consent.expires_on, today):
        return
    care = carer_of_client(uow, consent.client_id)
    if care is None:
        return  # nobody carries the client: nothing to share, nobody to ask
    assert consent.expires_on is not None
    raise_task(
        uow,
        source=Source.CONSENT_EXPIRING,
        key=f"consent:{consent.consent_id}:{consent.expires_on.isoformat()}",
        owner_id=care.case_manager_id,
        title=f"Consent to share with {consent.organization_id} ends {consent.expires_on}: renew?",
        due_on=consent.expires_on,
        priority=Priority.NORMAL,
        client=care,
    )


def announce_expiring_consents(uow: Any, today: date) -> None:
    """The scheduler's pass: consents entering their last 14 days get their task (once)."""
    horizon = date.fromordinal(today.toordinal() + casework_domain.CONSENT_WARNING_DAYS)
    for consent in uow.session.scalars(
        select(ConsentExpiry).where(
            ConsentExpiry.revoked.is_(False), ConsentExpiry.expires_on <= horizon
        )
    ):
        task_for_expiring_consent(uow, consent, today)


def task_for_reassessment(uow: Any, data: Mapping[str, Any]) -> None:
    care = carer_of_client(uow, data["client_id"])
    raise_task(
        uow,
        source=Source.REASSESSMENT_DUE,
        key=f"reassessment:{data['episode_id']}:{data['due_on'].isoformat()}",
        owner_id=care.case_manager_id if care else data.get("case_manager_id"),
        title="Reassessment due: repeat the needs assessment, PHQ-9 and GAD-7",
        due_on=data["due_on"],
        priority=Priority.HIGH if data.get("reason") == "after_high_risk" else Priority.NORMAL,
        client=care,
    )
