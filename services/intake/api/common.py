"""What every intake view shares: the blueprints (one OpenAPI tag each), roles, unit of work, clock."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.intake import domain, operations
from services.intake.models import Assessment, Consent, RiskFlag
from services.intake.schemas import ConsentOut
from shared.unit_of_work import UnitOfWork
from shared.web.query import Blueprint
from shared.web.service_app import current_runtime

STAFF = ("intake_worker", "case_manager", "supervisor", "admin")
ASSESSMENT_EXAMPLE = {
    "domains": {
        "housing": {"rating": "unmet_need", "notes": "Staying with friends"},
        "income": {"rating": "met_need"},
    },
    "phq9": {"items": [1, 2, 1, 0, 2, 1, 1, 0, 0]},
    "gad7": {"items": [1, 1, 2, 0, 1, 0, 1]},
    "cssrs": {"wish_to_be_dead": False, "suicidal_thoughts": False},
}

clients_bp = Blueprint(
    "clients",
    __name__,
    url_prefix="/clients",
    description="Clients, episodes and nominated persons",
)
consents_bp = Blueprint(
    "consents",
    __name__,
    url_prefix="/clients",
    description="Consent to share with partner organisations",
)
assessments_bp = Blueprint(
    "assessments",
    __name__,
    url_prefix="/clients",
    description="Needs assessments, instruments and risk",
)
caseloads_bp = Blueprint(
    "caseloads",
    __name__,
    url_prefix="/case-managers",
    description="Case managers, caps and caseloads",
)
duplicate_reviews_bp = Blueprint(
    "duplicate_reviews",
    __name__,
    url_prefix="/duplicate-reviews",
    description="Registrations that matched a client their registrar may not see",
)
referral_requests_bp = Blueprint(
    "referral_requests",
    __name__,
    url_prefix="/referral-requests",
    description="People partner organisations referred to the agency: new requests",
)


def request_uow() -> Any:
    return current_runtime().unit_of_work()


def request_now() -> datetime:
    """The one clock of the service (built in ``app.py``), read at the request's edge."""
    return current_runtime().clock.now()


_ASSESSMENT_FIELDS = (
    "id",
    "client_id",
    "episode_id",
    "version",
    "supersedes_id",
    "domains",
    "phq9",
    "gad7",
    "cssrs",
    "risk_level",
    "risk_reasons",
    "cssrs_screen_needed",
    "assessed_by",
    "completed_at",
)
_CONSENT_FIELDS = tuple(field for field in ConsentOut().fields if field != "in_force")


def assessment_out(
    uow: UnitOfWork,
    assessment: Assessment,
    flag: RiskFlag | None = None,
    *,
    amended: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An assessment as ``AssessmentOut`` shows it. ``amended``: the amending versions of a page
    of assessments, looked up at once (``operations.amendments_of``); else one query."""
    ratings = {name: value["rating"] for name, value in assessment.domains.items()}
    return {
        **{field: getattr(assessment, field) for field in _ASSESSMENT_FIELDS},
        "unmet_needs": domain.unmet_needs(ratings),
        "superseded_by_id": (
            amended.get(assessment.id)
            if amended is not None
            else operations.superseded_by(uow, assessment)
        ),
        "risk_flag_id": flag.id if flag else None,
    }


def consent_out(consent: Consent) -> dict[str, Any]:
    """A consent as ``ConsentOut`` shows it, with whether it is in force now."""
    return {
        **{field: getattr(consent, field) for field in _CONSENT_FIELDS},
        "in_force": operations.consent_in_force(consent, request_now()),
    }
