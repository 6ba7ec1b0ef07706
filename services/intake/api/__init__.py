"""HTTP in and out for intake: each view turns a request into one operation in a unit of work.

The views live in one module per concern; importing them registers their routes on the
blueprints of ``common``."""

from __future__ import annotations

from services.intake.api import assessments, caseloads, clients, crisis, rights  # noqa: F401
from services.intake.api.care_team import care_team_bp
from services.intake.api.common import (
    assessments_bp,
    caseloads_bp,
    clients_bp,
    consents_bp,
    duplicate_reviews_bp,
    referral_requests_bp,
)
from services.intake.api.reminders import reminders_bp
from services.intake.models import AUDIT, Base
from shared.web.audit import audit_blueprint
from shared.web.privacy import privacy_blueprint

BLUEPRINTS = [
    clients_bp,
    referral_requests_bp,
    consents_bp,
    assessments_bp,
    caseloads_bp,
    duplicate_reviews_bp,
    care_team_bp,
    reminders_bp,
    audit_blueprint(AUDIT),
    privacy_blueprint("intake", Base.metadata, AUDIT),
]
