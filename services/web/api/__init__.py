"""The web app's pages: each route reads the form or query, calls the services' APIs with the
signed-in person's token (a page's calls at once) and renders a template. Rules live in
screens.py, sign-in in oidc.py, sessions in sessions.py; one module here per group of screens."""

from services.web.api import (
    alerts,
    appointments,
    caseload,
    clients,
    contacts,
    discharge,
    emergency_access,
    plans,
    preferences,
    referrals,
    reminders,
    reports,
    sign_in,
    suggestions,
    worklist,
)
from services.web.api.common import pages
from services.web.api.errors import api_error_page, http_error_page

#: The modules above register their routes on ``pages`` when imported.
SCREENS = (
    alerts,
    appointments,
    caseload,
    clients,
    contacts,
    discharge,
    emergency_access,
    plans,
    preferences,
    referrals,
    reminders,
    reports,
    sign_in,
    suggestions,
    worklist,
)

__all__ = ["SCREENS", "api_error_page", "http_error_page", "pages"]
