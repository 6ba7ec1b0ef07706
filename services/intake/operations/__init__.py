"""The intake service layer, one module per use case (no Flask): ``access`` (who sees which
client, who carries it), ``registration``, ``clients``, ``consent``, ``assessments`` (scoring and risk), ``caseload``
(case managers and assignment), ``from_events``, ``duplicates`` and ``outcomes`` (scores over time, reassessment). Every refusal is a
``shared.errors`` exception the web layer turns into a problem; roles are checked once, at the
HTTP edge (``api.py``)."""

from services.intake.operations.access import (
    client_event_ids,
    deactivated,
    end_assignment,
    load_client,
    open_episode,
    subject_of,
    supervisor_of,
    visible_clients,
)
from services.intake.operations.assessments import (
    amendments_of,
    list_assessments,
    list_risk_flags,
    read_assessment,
    record_assessment,
    resolve_risk_flag,
    superseded_by,
)
from services.intake.operations.caseload import (
    announced_state,
    assign,
    loads,
    save_case_manager,
    team_view,
)
from services.intake.operations.caseload_view import caseload
from services.intake.operations.clients import (
    UPDATABLE_FIELDS,
    add_nominated_person,
    publish_updated,
    read_client,
    remove_nominated_person,
    search_clients,
    update_client,
)
from services.intake.operations.consent import (
    announce_expired_consents,
    aware,
    consent_in_force,
    grant_consent,
    list_consents,
    publish_revoked,
    revoke_consent,
)
from services.intake.operations.corrections import (
    CORRECTABLE,
    decide_correction,
    list_corrections,
    request_correction,
)
from services.intake.operations.duplicates import (
    duplicate_review_references,
    list_duplicate_reviews,
    resolve_duplicate_review,
)
from services.intake.operations.emergency import crisis_picture, grant_emergency_access
from services.intake.operations.episodes import close_episode, discharge, readmit
from services.intake.operations.from_events import (
    note_contact,
    note_review_due,
)
from services.intake.operations.outcomes import (
    announce_due_reassessments,
    client_outcomes,
)
from services.intake.operations.record import ClientRecord, read_client_record
from services.intake.operations.registration import register_client
from services.intake.operations.requests import (
    decide_referral_request,
    list_referral_requests,
    record_referral_request,
)
from services.intake.operations.retention import (
    erased_among,
    expire_due,
    record_erasure_report,
    retention_status,
    set_legal_hold,
)

__all__ = [
    "CORRECTABLE",
    "UPDATABLE_FIELDS",
    "ClientRecord",
    "add_nominated_person",
    "amendments_of",
    "announce_due_reassessments",
    "announce_expired_consents",
    "announced_state",
    "assign",
    "aware",
    "caseload",
    "client_event_ids",
    "client_outcomes",
    "close_episode",
    "consent_in_force",
    "crisis_picture",
    "deactivated",
    "decide_correction",
    "decide_referral_request",
    "discharge",
    "duplicate_review_references",
    "end_assignment",
    "erased_among",
    "expire_due",
    "grant_consent",
    "grant_emergency_access",
    "list_assessments",
    "list_consents",
    "list_corrections",
    "list_duplicate_reviews",
    "list_referral_requests",
    "list_risk_flags",
    "load_client",
    "loads",
    "note_contact",
    "note_review_due",
    "open_episode",
    "publish_revoked",
    "publish_updated",
    "read_assessment",
    "read_client",
    "read_client_record",
    "readmit",
    "record_assessment",
    "record_erasure_report",
    "record_referral_request",
    "register_client",
    "remove_nominated_person",
    "request_correction",
    "resolve_duplicate_review",
    "resolve_risk_flag",
    "retention_status",
    "revoke_consent",
    "save_case_manager",
    "search_clients",
    "set_legal_hold",
    "subject_of",
    "superseded_by",
    "supervisor_of",
    "team_view",
    "update_client",
    "visible_clients",
]
