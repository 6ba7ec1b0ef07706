"""What every intake view shares: the blueprints (one OpenAPI tag each), roles, unit of work, clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
