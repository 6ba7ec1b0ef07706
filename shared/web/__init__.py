"""The HTTP side every service shares: app factory, problem errors, JWT auth, probes."""

from __future__ import annotations

from shared.web.app import ServiceApi, create_service_app
from shared.web.auth import (
    ROLES,
    Principal,
    current_principal,
    decode_token,
    mint_token,
    require_roles,
)
from shared.web.observability import register_observability
from shared.web.problems import Problem, ProblemSchema, register_problem_handlers
from shared.web.request_context import REQUEST_ID_HEADER, register_request_context

__all__ = [
    "REQUEST_ID_HEADER",
    "ROLES",
    "Principal",
    "Problem",
    "ProblemSchema",
    "ServiceApi",
    "create_service_app",
    "current_principal",
    "decode_token",
    "mint_token",
    "register_observability",
    "register_problem_handlers",
    "register_request_context",
    "require_roles",
]
