"""The intake service layer: one function per thing a person does, each inside a unit of work.

Plain Python over the models and the domain rules (no Flask): the API turns a request into a call
here, and every refusal is a ``shared.errors`` exception the web layer turns into a problem.
Every read and change of a client record is audited in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from services.intake import domain
from services.intake.models import (
    AUDIT,
    Assessment,
    Assignment,
    CaseManager,
    Client,
    ClientReferenceCounter,
    Consent,
    DuplicateReview,
    Episode,
    NominatedPerson,
    RiskFlag,
)
from shared.clock import in_agency_zone
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.pagination import Page, keyset_page, ordered_page
from shared.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from shared.web.auth import Principal

UPDATABLE_FIELDS = (
    "given_name",
    "family_name",
    "date_of_birth",
    "external_id",
    "preferred_language",
    "contact",
    "advance_statement",
)


def _now() -> datetime:
    return datetime.now(UTC)


# -- access ------------------------------------------------------------------------------------
def _deactivated(case_manager_id: str) -> ColumnElement[bool]:
    """The person is a case manager marked inactive: they left the team, and their access too."""
    return exists(
        select(CaseManager.id).where(
            CaseManager.id == case_manager_id, CaseManager.active.is_(False)
        )
    )


def visible_clients(actor: Principal) -> ColumnElement[bool]:
    """Which clients the caller may see: admin all; supervisor their team and the unassigned;
    case manager their own (none once deactivated); intake worker the unassigned and those they
    registered."""
    if actor.has_any("admin"):
        return true()
    rules: list[ColumnElement[bool]] = []
    if actor.has_any("supervisor"):
        team = select(CaseManager.id).where(CaseManager.supervisor_id == actor.sub)
        rules += [Client.case_manager_id.in_(team), Client.case_manager_id.is_(None)]
    if actor.has_any("case_manager"):
        rules.append(and_(Client.case_manager_id == actor.sub, ~_deactivated(actor.sub)))
    if actor.has_any("intake_worker"):
        rules += [Client.case_manager_id.is_(None), Client.registered_by == actor.sub]
    return or_(*rules) if rules else false()


def audit(
    uow: UnitOfWork,
    actor: Principal,
    action: str,
    entity: str,
    entity_id: str | None,
    client_id: str | None,
    **detail: Any,
) -> None:
    AUDIT.record(uow.session, actor, action, entity, entity_id, client_id, **detail)


def _client(
    uow: UnitOfWork, actor: Principal, client_id: str, *, for_update: bool = False
) -> Client:
    statement = select(Client).where(Client.id == client_id, visible_clients(actor))
    if for_update:
        statement = statement.with_for_update()
    client = uow.session.scalars(statement).first()
    if client is None:
        raise NotFound(f"No client {client_id} that you may see.")
    return client


def _require(actor: Principal, *roles: str) -> None:
    if not actor.has_any(*roles):
        raise Forbidden(
            f"This needs one of the roles: {', '.join(roles)}.", required_roles=list(roles)
        )


def _open_episode(client: Client) -> Episode:
    episode = client.current_episode
    if episode.status != domain.EpisodeStatus.OPEN:
        raise Conflict(f"Client {client.reference} is discharged; re-admit them first.")
    return episode


def _client_event(client: Client) -> dict[str, Any]:
    return {
        "client_id": client.id,
        "client_reference": client.reference,
        "episode_id": client.current_episode.id,
        "programme": client.current_episode.programme,
    }


def _subject(client: Client) -> str:
    return f"client/{client.id}"


# -- clients -----------------------------------------------------------------------------------
def _lock_reference_counter(uow: UnitOfWork) -> ClientReferenceCounter:
    """The one counter row, locked until commit: registrations queue here, so references are
    gap-free and unique, and the duplicate check that follows sees every earlier registration
    (at READ COMMITTED each statement after the wait reads what the others committed)."""
    return uow.session.scalars(
        select(ClientReferenceCounter)
        .where(ClientReferenceCounter.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _next_reference(counter: ClientReferenceCounter) -> str:
    counter.last_value += 1
    return f"C-{counter.last_value}"


def register_client(
    uow: UnitOfWork,
    actor: Principal,
    details: Mapping[str, Any],
    *,
    confirmed_not_duplicate: bool = False,
) -> Client:
    """Register a client. A match the caller may see is a 409 naming it (unless they confirm it is
    another person); a match they may not see is never revealed: the client is registered and the
    pair goes on the duplicate-review list for supervisors and admins."""
    _require(actor, "intake_worker", "supervisor", "admin")
    key = domain.person_key(details["given_name"], details["family_name"], details["date_of_birth"])
    counter = _lock_reference_counter(uow)
    matches = select(Client.id).where(Client.person_key == key, Client.merged_into_id.is_(None))
    seen = set(uow.session.scalars(matches.where(visible_clients(actor))))
    every_match = list(uow.session.scalars(matches.order_by(Client.reference)))
    existing = [match for match in every_match if match in seen]
    unseen = [match for match in every_match if match not in seen]
    if existing and not confirmed_not_duplicate:
        raise Conflict(
            "A client with the same name and date of birth exists; confirm it is another person "
            "with confirmed_not_duplicate=true, or use the existing record.",
            existing_client_ids=existing,
        )
    client = Client(
        reference=_next_reference(counter),
        person_key=key,
        registered_by=actor.sub,
        given_name=details["given_name"],
        family_name=details["family_name"],
        date_of_birth=details["date_of_birth"],
        external_id=details.get("external_id"),
        preferred_language=details.get("preferred_language"),
        contact=dict(details.get("contact") or {}),
        advance_statement=details.get("advance_statement"),
    )
    client.episodes = [Episode(number=1, programme=details.get("programme"))]
    client.nominated_persons = [
        NominatedPerson(**person) for person in details.get("nominated_persons", [])
    ]
    uow.session.add(client)
    uow.session.flush()
    audit(
        uow,
        actor,
        "register",
        "client",
        client.id,
        client.id,
        duplicate_confirmed=bool(existing and confirmed_not_duplicate),
    )
    for existing_id in unseen:
        _flag_possible_duplicate(uow, actor, client, existing_id)
    uow.publish(
        "casehub.intake.client.registered.v1",
        subject=_subject(client),
        data={
            **_client_event(client),
            "registered_by": actor.sub,
            "registered_at": client.created_at,
        },
    )
    return client


def _flag_possible_duplicate(
    uow: UnitOfWork, actor: Principal, client: Client, existing_id: str
) -> None:
    review = DuplicateReview(
        new_client_id=client.id, existing_client_id=existing_id, flagged_by=actor.sub
    )
    uow.session.add(review)
    uow.session.flush()
    for client_id in (client.id, existing_id):
        audit(uow, actor, "flag", "duplicate_review", review.id, client_id)


def read_client(uow: UnitOfWork, actor: Principal, client_id: str) -> Client:
    client = _client(uow, actor, client_id)
    audit(uow, actor, "read", "client", client.id, client.id)
    return client


def search_clients(
    uow: UnitOfWork,
    actor: Principal,
    *,
    name: str | None,
    date_of_birth: date | None,
    external_id: str | None,
    limit: int,
    cursor: str | None,
    reference: str | None = None,
) -> Page[Client]:
    statement = select(Client).where(visible_clients(actor))
    if reference:
        statement = statement.where(Client.reference == reference)
    if name:
        pattern = f"%{name.strip().casefold()}%"
        statement = statement.where(
            or_(
                func.lower(Client.given_name).like(pattern),
                func.lower(Client.family_name).like(pattern),
                Client.person_key.like(pattern),
            )
        )
    if date_of_birth:
        statement = statement.where(Client.date_of_birth == date_of_birth)
    if external_id:
        statement = statement.where(Client.external_id == external_id)
    page = keyset_page(uow.session, statement, [Client.reference], limit=limit, cursor=cursor)
    for client in page.items:
        audit(uow, actor, "read", "client", client.id, client.id, via="search")
    return page


def update_client(
    uow: UnitOfWork, actor: Principal, client_id: str, changes: Mapping[str, Any]
) -> Client:
    _require(actor, "intake_worker", "case_manager", "supervisor", "admin")
    client = _client(uow, actor, client_id, for_update=True)
    changed = sorted(
        field
        for field in UPDATABLE_FIELDS
        if field in changes and getattr(client, field) != changes[field]
    )
    for field in changed:
        setattr(client, field, changes[field])
    if not changed:
        return client
    if {"given_name", "family_name", "date_of_birth"} & set(changed):
        client.person_key = domain.person_key(
            client.given_name, client.family_name, client.date_of_birth
        )
    client.updated_at = _now()
    audit(uow, actor, "update", "client", client.id, client.id, fields=changed)
    _publish_updated(uow, client, changed)
    return client


def _publish_updated(uow: UnitOfWork, client: Client, changed: Sequence[str]) -> None:
    uow.publish(
        "casehub.intake.client.updated.v1",
        subject=_subject(client),
        data={**_client_event(client), "changed_fields": list(changed), "updated_at": _now()},
    )


def add_nominated_person(
    uow: UnitOfWork, actor: Principal, client_id: str, person: Mapping[str, Any]
) -> NominatedPerson:
    _require(actor, "intake_worker", "case_manager", "supervisor", "admin")
    client = _client(uow, actor, client_id, for_update=True)
    nominated = NominatedPerson(**person)
    client.nominated_persons.append(nominated)
    uow.session.flush()
    audit(uow, actor, "add", "nominated_person", nominated.id, client.id)
    _publish_updated(uow, client, ["nominated_persons"])
    return nominated


def remove_nominated_person(
    uow: UnitOfWork, actor: Principal, client_id: str, person_id: str
) -> None:
    _require(actor, "intake_worker", "case_manager", "supervisor", "admin")
    client = _client(uow, actor, client_id, for_update=True)
    person = next((p for p in client.nominated_persons if p.id == person_id), None)
    if person is None:
        raise NotFound(f"Client {client.reference} has no nominated person {person_id}.")
    client.nominated_persons.remove(person)
    audit(uow, actor, "remove", "nominated_person", person_id, client.id)
    _publish_updated(uow, client, ["nominated_persons"])


def discharge(uow: UnitOfWork, actor: Principal, client_id: str, reason_code: str) -> Client:
    _require(actor, "case_manager", "supervisor", "admin")
    client = _client(uow, actor, client_id, for_update=True)
    episode = _open_episode(client)
    at = _now()
    audit(uow, actor, "discharge", "episode", episode.id, client.id, reason_code=reason_code)
    _close_episode(uow, client, episode, reason_code, at)
    return client


def _close_episode(
    uow: UnitOfWork, client: Client, episode: Episode, reason_code: str, at: datetime
) -> None:
    """The episode ends and no one carries the client any more: every service hears it."""
    episode.status, episode.closed_at, episode.discharge_reason = (
        domain.EpisodeStatus.DISCHARGED,
        at,
        reason_code,
    )
    _end_assignment(uow, episode, at)
    client.status, client.case_manager_id = domain.EpisodeStatus.DISCHARGED, None
    episode.case_manager_id = None
    client.care_version += 1
    uow.publish(
        "casehub.intake.client.discharged.v1",
        subject=_subject(client),
        data={
            **_client_event(client),
            "discharged_at": at,
            "reason_code": reason_code,
            "care_version": client.care_version,
        },
    )


def readmit(uow: UnitOfWork, actor: Principal, client_id: str) -> Client:
    _require(actor, "intake_worker", "supervisor", "admin")
    client = _client(uow, actor, client_id, for_update=True)
    if client.merged_into_id is not None:
        raise Conflict(
            f"Client {client.reference} was merged into another record; re-admit that one.",
            merged_into_id=client.merged_into_id,
        )
    previous = client.current_episode
    if previous.status == domain.EpisodeStatus.OPEN:
        raise Conflict(f"Client {client.reference} already has an open episode.")
    client.episodes.append(Episode(number=previous.number + 1, programme=previous.programme))
    client.status = domain.EpisodeStatus.OPEN
    uow.session.flush()
    audit(uow, actor, "readmit", "episode", client.current_episode.id, client.id)
    uow.publish(
        "casehub.intake.client.readmitted.v1",
        subject=_subject(client),
        data={**_client_event(client), "previous_episode_id": previous.id, "readmitted_at": _now()},
    )
    return client


# -- consent -----------------------------------------------------------------------------------
def consent_in_force(consent: Consent, at: datetime | None = None) -> bool:
    return domain.consent_in_force(
        starts_on=consent.starts_on,
        expires_on=consent.expires_on,
        revoked_at=_aware(consent.revoked_at),
        at=in_agency_zone(at or _now()),
    )


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def grant_consent(
    uow: UnitOfWork, actor: Principal, client_id: str, grant: Mapping[str, Any]
) -> Consent:
    _require(actor, "intake_worker", "case_manager", "supervisor", "admin")
    client = _client(uow, actor, client_id, for_update=True)
    expires_on = grant.get("expires_on")
    if expires_on is not None and expires_on <= grant["starts_on"]:
        raise Unprocessable("expires_on", "must be after starts_on")
    consent = Consent(
        client_id=client.id,
        organization_id=grant["organization_id"],
        categories=sorted(set(grant["categories"])),
        starts_on=grant["starts_on"],
        expires_on=expires_on,
        granted_by=actor.sub,
    )
    uow.session.add(consent)
    uow.session.flush()
    audit(
        uow,
        actor,
        "grant",
        "consent",
        consent.id,
        client.id,
        organization_id=consent.organization_id,
    )
    uow.publish(
        "casehub.intake.consent.granted.v1",
        subject=_subject(client),
        data={
            "consent_id": consent.id,
            "client_id": client.id,
            "organization_id": consent.organization_id,
            "categories": consent.categories,
            "starts_on": consent.starts_on,
            "expires_on": consent.expires_on,
        },
    )
    return consent


def list_consents(
    uow: UnitOfWork, actor: Principal, client_id: str, *, limit: int, cursor: str | None
) -> Page[Consent]:
    client = _client(uow, actor, client_id)
    audit(uow, actor, "read", "consent", None, client.id)
    return keyset_page(
        uow.session,
        select(Consent).where(Consent.client_id == client.id),
        [Consent.granted_at, Consent.id],
        limit=limit,
        cursor=cursor,
    )


def revoke_consent(
    uow: UnitOfWork, actor: Principal, client_id: str, consent_id: str, reason: str
) -> Consent:
    _require(actor, "intake_worker", "case_manager", "supervisor", "admin")
    client = _client(uow, actor, client_id, for_update=True)
    consent = uow.session.scalars(
        select(Consent).where(Consent.id == consent_id, Consent.client_id == client.id)
    ).first()
    if consent is None:
        raise NotFound(f"Client {client.reference} has no consent {consent_id}.")
    if consent.revoked_at is not None:
        raise Conflict("This consent is already revoked.")
    consent.revoked_at, consent.revoked_by, consent.revocation_reason = _now(), actor.sub, reason
    audit(uow, actor, "revoke", "consent", consent.id, client.id)
    _publish_revoked(uow, consent, "revoked")
    return consent


def _publish_revoked(uow: UnitOfWork, consent: Consent, reason: str) -> None:
    uow.publish(
        "casehub.intake.consent.revoked.v1",
        subject=f"client/{consent.client_id}",
        data={
            "consent_id": consent.id,
            "client_id": consent.client_id,
            "organization_id": consent.organization_id,
            "categories": consent.categories,
            "revoked_at": consent.revoked_at or _now(),
            "reason": reason,
        },
    )


def announce_expired_consents(uow: UnitOfWork, today: date) -> int:
    """An expired consent counts as revoked: say so once, so consumers stop sharing data."""
    expired = list(
        uow.session.scalars(
            select(Consent)
            .where(
                Consent.expires_on <= today,
                Consent.revoked_at.is_(None),
                Consent.expiry_announced.is_(False),
            )
            .with_for_update(skip_locked=True)
        )
    )
    for consent in expired:
        consent.expiry_announced = True
        _publish_revoked(uow, consent, "expired")
    return len(expired)


# -- assessments and risk ----------------------------------------------------------------------
def _score(instrument: str, scorer: Any, answers: Any) -> Any:
    try:
        return scorer(answers)
    except domain.InstrumentItemError as error:
        raise Unprocessable(f"{instrument}.{error.item}", error.message) from None


def record_assessment(
    uow: UnitOfWork,
    actor: Principal,
    client_id: str,
    submitted: Mapping[str, Any],
    *,
    supersedes_id: str | None = None,
) -> tuple[Assessment, RiskFlag | None]:
    _require(actor, "intake_worker", "case_manager", "supervisor", "admin")
    client = _client(uow, actor, client_id, for_update=True)
    episode = _open_episode(client)
    version = 1
    if supersedes_id is not None:
        previous = uow.session.get(Assessment, supersedes_id)
        if previous is None or previous.client_id != client.id:
            raise NotFound(f"Client {client.reference} has no assessment {supersedes_id}.")
        if uow.session.scalars(
            select(Assessment.id).where(Assessment.supersedes_id == previous.id)
        ).first():
            raise Conflict("This version was already amended; amend the latest version.")
        version = previous.version + 1
    phq9 = (
        _score("phq9", domain.score_phq9, submitted["phq9"]["items"])
        if submitted.get("phq9")
        else None
    )
    gad7 = (
        _score("gad7", domain.score_gad7, submitted["gad7"]["items"])
        if submitted.get("gad7")
        else None
    )
    cssrs = (
        _score("cssrs", domain.score_cssrs_screener, domain.CssrsAnswers(**submitted["cssrs"]))
        if submitted.get("cssrs")
        else None
    )
    risk = domain.assess_risk(phq9, cssrs)
    ratings = {
        name: {"rating": str(value["rating"]), "notes": value.get("notes")}
        for name, value in submitted["domains"].items()
    }
    assessment = Assessment(
        client_id=client.id,
        episode_id=episode.id,
        version=version,
        supersedes_id=supersedes_id,
        domains=ratings,
        phq9=None
        if phq9 is None
        else {
            "items": list(submitted["phq9"]["items"]),
            "total": phq9.total,
            "severity": str(phq9.severity),
        },
        gad7=None
        if gad7 is None
        else {
            "items": list(submitted["gad7"]["items"]),
            "total": gad7.total,
            "severity": str(gad7.severity),
        },
        cssrs=None
        if cssrs is None
        else {"answers": dict(submitted["cssrs"]), "level": str(cssrs.level)},
        risk_level=str(risk.level),
        risk_reasons=list(risk.reasons),
        cssrs_screen_needed=risk.cssrs_screen_needed,
        assessed_by=actor.sub,
    )
    uow.session.add(assessment)
    try:
        uow.session.flush()
    except IntegrityError:
        raise Conflict("This version was already amended; amend the latest version.") from None
    audit(
        uow, actor, "amend" if supersedes_id else "assess", "assessment", assessment.id, client.id
    )
    supervisor_id = _supervisor_of(uow, client.case_manager_id)
    uow.publish(
        "casehub.intake.assessment.completed.v1",
        subject=_subject(client),
        data={
            **_client_event(client),
            "assessment_id": assessment.id,
            "version": version,
            "supersedes_assessment_id": supersedes_id,
            "completed_at": assessment.completed_at,
            "unmet_needs": domain.unmet_needs(
                {name: value["rating"] for name, value in ratings.items()}
            ),
            "phq9": None if phq9 is None else {"total": phq9.total, "severity": str(phq9.severity)},
            "gad7": None if gad7 is None else {"total": gad7.total, "severity": str(gad7.severity)},
            "cssrs_level": None if cssrs is None else str(cssrs.level),
            "risk_level": str(risk.level),
            "case_manager_id": client.case_manager_id,
        },
    )
    flag = None
    if domain.opens_risk_flag(risk.level):
        flag = RiskFlag(
            client_id=client.id,
            episode_id=episode.id,
            assessment_id=assessment.id,
            level=str(risk.level),
            reasons=list(risk.reasons),
        )
        uow.session.add(flag)
        uow.session.flush()
        audit(uow, actor, "flag", "risk_flag", flag.id, client.id, level=flag.level)
        uow.publish(
            "casehub.intake.risk.flagged.v1",
            subject=_subject(client),
            data={
                **_client_event(client),
                "flag_id": flag.id,
                "assessment_id": assessment.id,
                "level": flag.level,
                "reasons": flag.reasons,
                "case_manager_id": client.case_manager_id,
                "supervisor_id": supervisor_id,
                "flagged_at": flag.opened_at,
            },
        )
    return assessment, flag


def list_assessments(
    uow: UnitOfWork, actor: Principal, client_id: str, *, limit: int, cursor: str | None
) -> Page[Assessment]:
    client = _client(uow, actor, client_id)
    audit(uow, actor, "read", "assessment", None, client.id)
    return keyset_page(
        uow.session,
        select(Assessment).where(Assessment.client_id == client.id),
        [Assessment.completed_at, Assessment.version, Assessment.id],
        limit=limit,
        cursor=cursor,
    )


def read_assessment(
    uow: UnitOfWork, actor: Principal, client_id: str, assessment_id: str
) -> Assessment:
    client = _client(uow, actor, client_id)
    assessment = uow.session.get(Assessment, assessment_id)
    if assessment is None or assessment.client_id != client.id:
        raise NotFound(f"Client {client.reference} has no assessment {assessment_id}.")
    audit(uow, actor, "read", "assessment", assessment.id, client.id)
    return assessment


def superseded_by(uow: UnitOfWork, assessment: Assessment) -> str | None:
    return uow.session.scalars(
        select(Assessment.id).where(Assessment.supersedes_id == assessment.id)
    ).first()


def list_risk_flags(
    uow: UnitOfWork, actor: Principal, client_id: str, *, limit: int, cursor: str | None
) -> Page[RiskFlag]:
    client = _client(uow, actor, client_id)
    audit(uow, actor, "read", "risk_flag", None, client.id)
    return keyset_page(
        uow.session,
        select(RiskFlag).where(RiskFlag.client_id == client.id),
        [RiskFlag.opened_at, RiskFlag.id],
        limit=limit,
        cursor=cursor,
    )


def resolve_risk_flag(
    uow: UnitOfWork, actor: Principal, client_id: str, flag_id: str, note: str
) -> RiskFlag:
    _require(actor, "case_manager", "supervisor")
    client = _client(uow, actor, client_id, for_update=True)
    flag = uow.session.scalars(
        select(RiskFlag).where(RiskFlag.id == flag_id, RiskFlag.client_id == client.id)
    ).first()
    if flag is None:
        raise NotFound(f"Client {client.reference} has no risk flag {flag_id}.")
    if flag.status != "open":
        raise Conflict("This risk flag is already resolved.")
    flag.status, flag.resolved_at, flag.resolved_by, flag.resolution_note = (
        "resolved",
        _now(),
        actor.sub,
        note,
    )
    audit(uow, actor, "resolve", "risk_flag", flag.id, client.id)
    uow.publish(
        "casehub.intake.risk.resolved.v1",
        subject=_subject(client),
        data={
            **_client_event(client),
            "flag_id": flag.id,
            "level": flag.level,
            "resolved_by": actor.sub,
            "resolved_at": flag.resolved_at,
        },
    )
    return flag


# -- case managers and caseloads ---------------------------------------------------------------
def _supervisor_of(uow: UnitOfWork, case_manager_id: str | None) -> str | None:
    if case_manager_id is None:
        return None
    return uow.session.scalars(
        select(CaseManager.supervisor_id).where(CaseManager.id == case_manager_id)
    ).first()


def save_case_manager(
    uow: UnitOfWork, actor: Principal, case_manager_id: str, values: Mapping[str, Any]
) -> CaseManager:
    """Admins add case managers and move them between teams; a supervisor changes those of their
    own team (an unknown id, or another team's, is a 404 to them). A change of team, supervisor,
    cap or active is announced (``case_manager.updated``) in the same transaction, so every
    service's access rules follow it."""
    _require(actor, "supervisor", "admin")
    is_admin = actor.has_any("admin")
    manager = uow.session.get(CaseManager, case_manager_id, with_for_update=True)
    if manager is None and is_admin:
        manager = CaseManager(id=case_manager_id, version=0)
        uow.session.add(manager)
    elif manager is None or (not is_admin and manager.supervisor_id != actor.sub):
        raise NotFound(f"No case manager {case_manager_id} in your team.")
    if not is_admin and values.get("supervisor_id") != actor.sub:
        raise Forbidden("A supervisor manages the case managers of their own team only.")
    announced = _announced(manager)
    manager.display_name = values["display_name"]
    manager.team = values["team"]
    manager.supervisor_id = values.get("supervisor_id")
    manager.caseload_cap = values.get("caseload_cap", domain.DEFAULT_CASELOAD_CAP)
    manager.active = values.get("active", True)
    changed = _announced(manager) != announced
    if changed:
        manager.version += 1
    uow.session.flush()
    audit(
        uow,
        actor,
        "save",
        "case_manager",
        manager.id,
        None,
        caseload_cap=manager.caseload_cap,
        supervisor_id=manager.supervisor_id,
        active=manager.active,
    )
    if changed:
        uow.publish(
            "casehub.intake.case_manager.updated.v1",
            subject=f"case_manager/{manager.id}",
            data={
                "case_manager_id": manager.id,
                "team": manager.team,
                "supervisor_id": manager.supervisor_id,
                "caseload_cap": manager.caseload_cap,
                "active": manager.active,
                "version": manager.version,
                "updated_at": _now(),
            },
        )
    return manager


def _announced(manager: CaseManager) -> tuple[Any, ...]:
    """What other services learn of a case manager: never their name."""
    return (manager.team, manager.supervisor_id, manager.caseload_cap, manager.active)


def loads(uow: UnitOfWork, managers: Sequence[CaseManager]) -> list[domain.CaseManagerLoad]:
    ids = [manager.id for manager in managers]
    active = dict(
        uow.session.execute(
            select(Client.case_manager_id, func.count())
            .where(Client.case_manager_id.in_(ids))
            .group_by(Client.case_manager_id)
        ).all()
    )
    flags = dict(
        uow.session.execute(
            select(Client.case_manager_id, func.count())
            .join(RiskFlag, RiskFlag.client_id == Client.id)
            .where(Client.case_manager_id.in_(ids), RiskFlag.status == "open")
            .group_by(Client.case_manager_id)
        ).all()
    )
    return [
        domain.CaseManagerLoad(
            manager.id, manager.caseload_cap, active.get(manager.id, 0), flags.get(manager.id, 0)
        )
        for manager in managers
    ]


def team_view(
    uow: UnitOfWork, actor: Principal, team: str | None, *, limit: int, cursor: str | None
) -> Page[tuple[CaseManager, domain.CaseManagerLoad]]:
    _require(actor, "supervisor", "admin")
    statement = select(CaseManager)
    if not actor.has_any("admin"):
        statement = statement.where(CaseManager.supervisor_id == actor.sub)
    if team:
        statement = statement.where(CaseManager.team == team)
    page = keyset_page(uow.session, statement, [CaseManager.id], limit=limit, cursor=cursor)
    return Page(list(zip(page.items, loads(uow, page.items), strict=True)), page.next_cursor)


def assign(
    uow: UnitOfWork,
    actor: Principal,
    client_id: str,
    *,
    case_manager_id: str | None,
    team: str | None,
    override_reason: str | None,
    programme: str | None = None,
) -> tuple[Client, Assignment]:
    _require(actor, "intake_worker", "supervisor", "admin")
    client = _client(uow, actor, client_id, for_update=True)
    episode = _open_episode(client)
    if case_manager_id is not None:
        manager = uow.session.get(CaseManager, case_manager_id, with_for_update=True)
        if manager is None or not manager.active:
            raise Unprocessable("case_manager_id", "no active case manager with this id")
        [load] = loads(uow, [manager])
        if client.case_manager_id == manager.id:
            raise Conflict(f"Client {client.reference} is already assigned to {manager.id}.")
        try:
            decision = domain.decide_assignment(
                load, override_reason=override_reason, by_supervisor=actor.has_any("supervisor")
            )
        except domain.CaseloadFull as full:
            raise Conflict(
                str(full),
                case_manager_id=full.case_manager_id,
                caseload_cap=full.cap,
                active_clients=full.active_clients,
                override="a supervisor may assign over the cap with an override_reason",
            ) from None
        method = "explicit"
    else:
        if not team:
            raise Unprocessable(
                "team", "name a team for automatic assignment, or a case_manager_id"
            )
        managers = list(
            uow.session.scalars(
                select(CaseManager)
                .where(CaseManager.team == team, CaseManager.active.is_(True))
                .order_by(CaseManager.id)
                .with_for_update()
            )
        )
        candidates = [
            load for load in loads(uow, managers) if load.case_manager_id != client.case_manager_id
        ]
        try:
            chosen = domain.choose_case_manager(candidates)
        except domain.NoCaseManagerAvailable:
            raise Conflict(
                f"Every case manager of team {team} is at their caseload cap.", team=team
            ) from None
        decision = domain.AssignmentDecision(
            chosen.case_manager_id, over_cap=False, override_reason=None
        )
        method = "automatic"
    at = _now()
    previous = client.case_manager_id
    client.care_version += 1
    _end_assignment(uow, episode, at)
    assignment = Assignment(
        episode_id=episode.id,
        client_id=client.id,
        case_manager_id=decision.case_manager_id,
        method=method,
        assigned_by=actor.sub,
        assigned_at=at,
        over_cap=decision.over_cap,
        override_reason=decision.override_reason,
    )
    uow.session.add(assignment)
    client.case_manager_id = episode.case_manager_id = decision.case_manager_id
    if programme is not None:
        episode.programme = programme
    uow.session.flush()
    audit(
        uow,
        actor,
        "assign",
        "episode",
        episode.id,
        client.id,
        case_manager_id=decision.case_manager_id,
        method=method,
        over_cap=decision.over_cap,
        override_reason=decision.override_reason,
    )
    team = uow.session.get(CaseManager, decision.case_manager_id)
    assert team is not None
    uow.publish(
        "casehub.intake.case.assigned.v1",
        subject=_subject(client),
        data={
            **_client_event(client),
            "case_manager_id": decision.case_manager_id,
            "previous_case_manager_id": previous,
            "supervisor_id": team.supervisor_id,
            "assigned_by": actor.sub,
            "method": method,
            "over_cap": decision.over_cap,
            "assigned_at": at,
            "care_version": client.care_version,
            "case_manager_version": team.version,
        },
    )
    return client, assignment


def _end_assignment(uow: UnitOfWork, episode: Episode, at: datetime) -> None:
    uow.session.execute(
        update(Assignment)
        .where(Assignment.episode_id == episode.id, Assignment.ended_at.is_(None))
        .values(ended_at=at)
    )


def caseload(
    uow: UnitOfWork, actor: Principal, case_manager_id: str, *, limit: int, cursor: str | None
) -> Page[tuple[Client, str | None, int]]:
    """The case manager's open clients: open risk flags first (high before moderate), then the
    nearest review due, a page at a time. Items: (client, highest open risk level, open flags).
    The rank is computed here, so the page is cut in Python (a caseload is capped: ≤ 500)."""
    manager = uow.session.get(CaseManager, case_manager_id)
    allowed = (
        actor.has_any("admin")
        or (actor.sub == case_manager_id and manager is not None and manager.active)
        or (
            actor.has_any("supervisor")
            and manager is not None
            and manager.supervisor_id == actor.sub
        )
    )
    if manager is None or not allowed:
        raise NotFound(f"No caseload {case_manager_id} that you may see.")
    clients = list(
        uow.session.scalars(select(Client).where(Client.case_manager_id == case_manager_id))
    )
    open_flags = uow.session.execute(
        select(RiskFlag.client_id, RiskFlag.level).where(
            RiskFlag.client_id.in_([c.id for c in clients]), RiskFlag.status == "open"
        )
    ).all()
    highest: dict[str, str] = {}
    counts: dict[str, int] = {}
    for client_id, level in open_flags:
        counts[client_id] = counts.get(client_id, 0) + 1
        highest[client_id] = str(
            domain.max_risk(
                domain.RiskLevel(level), domain.RiskLevel(highest.get(client_id, "none"))
            )
        )

    def order(client: Client) -> tuple[int, str, str]:
        due = client.current_episode.next_review_due or date.max
        return (
            -domain.RiskLevel(highest.get(client.id, "none")).rank,
            due.isoformat(),
            client.reference,
        )

    page = ordered_page(clients, order, limit=limit, cursor=cursor)
    audit(uow, actor, "read", "caseload", case_manager_id, None, clients=len(page.items))
    return Page(
        [(client, highest.get(client.id), counts.get(client.id, 0)) for client in page.items],
        page.next_cursor,
    )


# -- events from other services ----------------------------------------------------------------
def note_review_due(uow: UnitOfWork, episode_id: str, due_on: date) -> None:
    """Planning says a review is due: the caseload view orders by it."""
    episode = uow.session.get(Episode, episode_id)
    if episode is not None:
        episode.next_review_due = due_on


# -- duplicate reviews -------------------------------------------------------------------------
def _reviewable(actor: Principal) -> ColumnElement[bool]:
    """A supervisor reviews the pairs whose two records they may both see; an admin every pair."""
    visible = select(Client.id).where(visible_clients(actor))
    return and_(
        DuplicateReview.new_client_id.in_(visible),
        DuplicateReview.existing_client_id.in_(visible),
    )


def list_duplicate_reviews(
    uow: UnitOfWork, actor: Principal, *, status: str | None, limit: int, cursor: str | None
) -> Page[DuplicateReview]:
    _require(actor, "supervisor", "admin")
    statement = select(DuplicateReview).where(_reviewable(actor))
    if status:
        statement = statement.where(DuplicateReview.status == status)
    page = keyset_page(
        uow.session,
        statement,
        [DuplicateReview.flagged_at, DuplicateReview.id],
        limit=limit,
        cursor=cursor,
    )
    for review in page.items:
        for client_id in (review.new_client_id, review.existing_client_id):
            audit(uow, actor, "read", "duplicate_review", review.id, client_id, via="list")
    return page


def resolve_duplicate_review(
    uow: UnitOfWork,
    actor: Principal,
    review_id: str,
    outcome: str,
    note: str | None,
) -> DuplicateReview:
    """``distinct``: two people, nothing changes. ``merged``: one person; the newer record is
    marked a duplicate of the older, its episode closed (``client.discharged`` with reason
    ``duplicate_record``, so plans close and referrals are cancelled) and it points to the
    surviving record. Its assessments, consents and notes stay where they were recorded."""
    _require(actor, "supervisor", "admin")
    review = uow.session.scalars(
        select(DuplicateReview)
        .where(DuplicateReview.id == review_id, _reviewable(actor))
        .with_for_update()
    ).first()
    if review is None:
        raise NotFound(f"No duplicate review {review_id} that you may see.")
    if review.status != "open":
        raise Conflict(
            f"This review was already resolved as {review.outcome}.", outcome=review.outcome
        )
    at = _now()
    review.status, review.outcome = "resolved", outcome
    review.resolved_by, review.resolved_at, review.resolution_note = actor.sub, at, note
    if outcome == domain.DuplicateOutcome.MERGED:
        _merge(uow, review, at)
    for client_id in (review.new_client_id, review.existing_client_id):
        audit(uow, actor, "resolve", "duplicate_review", review.id, client_id, outcome=outcome)
    return review


def _merge(uow: UnitOfWork, review: DuplicateReview, at: datetime) -> None:
    pair = list(
        uow.session.scalars(
            select(Client)
            .where(Client.id.in_([review.new_client_id, review.existing_client_id]))
            .order_by(Client.created_at, Client.reference)
            .with_for_update()
        )
    )
    surviving, duplicate = pair
    if duplicate.merged_into_id is not None:
        raise Conflict(
            f"Client {duplicate.reference} was already merged into another record.",
            merged_into_id=duplicate.merged_into_id,
        )
    if surviving.merged_into_id is not None:
        raise Conflict(
            f"Client {surviving.reference} was itself merged into another record; "
            "review against that one.",
            merged_into_id=surviving.merged_into_id,
        )
    duplicate.merged_into_id = surviving.id
    episode = duplicate.current_episode
    if episode.status == domain.EpisodeStatus.OPEN:
        _close_episode(uow, duplicate, episode, domain.DUPLICATE_RECORD, at)
    duplicate.status = domain.MERGED
    duplicate.updated_at = at


def duplicate_review_references(uow: UnitOfWork, review: DuplicateReview) -> dict[str, str]:
    """The two records' references, so a reviewer can find them."""
    rows = uow.session.execute(
        select(Client.id, Client.reference).where(
            Client.id.in_([review.new_client_id, review.existing_client_id])
        )
    ).all()
    return dict(rows)
