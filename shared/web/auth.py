"""JWT bearer authentication and role checks, identical in every service (401 vs 403 kept apart)."""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import Any, TypeVar

import jwt
from flask import current_app, g, request

from shared import context
from shared.config import Settings
from shared.identity import Principal
from shared.web.hardening import record_failed_credentials, refuse_if_guessing
from shared.web.problems import Problem, ProblemSchema

ROLES: tuple[str, ...] = (
    "intake_worker",
    "case_manager",
    "supervisor",
    "admin",
    "partner",
    "on_call",
    "reporting",
)
SECURITY_SCHEME_NAME = "bearerAuth"
SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "Send an optional `X-Purpose` header saying why: the audit trail keeps it.",
}
API_KEY_SCHEME_NAME = "partnerApiKey"
API_KEY_SCHEME = {
    "type": "apiKey",
    "in": "header",
    "name": "X-Api-Key",
    "description": "A partner organisation's API key (`chk_…`), issued by the agency's admin.",
}
#: The roles whose callers may present an API key instead of a bearer token.
API_KEY_ROLES = frozenset({"partner"})
_INVALID_TOKEN_DETAILS: tuple[tuple[type[jwt.InvalidTokenError], str], ...] = (
    (jwt.ExpiredSignatureError, "The bearer token has expired."),
    (jwt.InvalidSignatureError, "The bearer token's signature is not valid."),
    (jwt.InvalidAudienceError, "The bearer token was issued for another audience."),
    (jwt.InvalidIssuerError, "The bearer token comes from an untrusted issuer."),
    (jwt.InvalidAlgorithmError, "The bearer token's signing algorithm is not accepted."),
    (jwt.ImmatureSignatureError, "The bearer token is not valid yet."),
    (jwt.DecodeError, "The bearer token is malformed."),
)
#: Who did what is stored in columns of this size (audit actor, assigned_by, ...).
SUBJECT_LENGTH = 128
F = TypeVar("F", bound=Callable[..., Any])
#: What an identity provider's JWKS keys may sign with; the key's own algorithm must be one.
JWKS_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256")


def _unauthorized(detail: str, *, invalid: bool = True) -> Problem:
    # RFC 6750 §3.1: no error code when the request carried no credentials at all.
    challenge = (
        'Bearer realm="casehub", error="invalid_token"' if invalid else 'Bearer realm="casehub"'
    )
    return Problem(401, detail=detail, headers={"WWW-Authenticate": challenge})


def mint_token(
    settings: Settings,
    sub: str,
    roles: Iterable[str],
    *,
    org: str | None = None,
    ttl_seconds: int = 3600,
    private_key: str | None = None,
) -> str:
    """Issue a token as our identity provider would: HS256 in development, RS256 with a key."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "roles": list(roles),
        "aud": settings.jwt_audience,
        "iss": settings.jwt_issuer,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    if org is not None:
        claims["org"] = org
    if private_key is not None:
        return jwt.encode(claims, private_key, algorithm="RS256")
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


@functools.lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    """One per process and URL: the key set is cached for 5 minutes and refetched at once (at
    most every 30 s) when a token names a key it does not hold, as after a rotation."""
    return jwt.PyJWKClient(url, cache_jwk_set=True, lifespan=300, timeout=5)


def _verification_key(settings: Settings, token: str) -> tuple[Any, list[str]]:
    """The key and the only algorithms accepted with it, so 'alg: none' and HS/RS confusion
    are refused."""
    if settings.jwt_jwks_url:
        try:
            signing_key = _jwks_client(settings.jwt_jwks_url).get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError:
            raise Problem(
                503,
                detail="The identity provider's signing keys cannot be fetched; retry shortly.",
                headers={"Retry-After": "5"},
            ) from None
        except jwt.PyJWKClientError:
            raise _unauthorized(
                "The bearer token is signed with a key the identity provider does not publish."
            ) from None
        if signing_key.algorithm_name not in JWKS_ALGORITHMS:
            raise _unauthorized("The bearer token's signing algorithm is not accepted.")
        return signing_key.key, [signing_key.algorithm_name]
    if settings.jwt_public_key:
        return settings.jwt_public_key, ["RS256"]
    return settings.jwt_secret, ["HS256"]


def _claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by name or dotted path (Keycloak keeps roles in ``realm_access.roles``)."""
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


#: Tokens verified lately, by token and the settings that verified it: a caller sends the same
#: token with every request until it expires, and checking its signature and claims again each
#: time was a tenth of a caseload request's CPU. An entry holds until the token's ``exp`` (the
#: same instant ``jwt.decode`` would refuse it) and never longer than ``VERIFIED_FOR_SECONDS``,
#: the JWKS key set's own cache lifespan, so a key the identity provider withdraws stops working
#: no later than it did before. Only tokens that verified are kept.
_VERIFIED: dict[tuple[Any, ...], tuple[float, Principal]] = {}
_VERIFIED_LOCK = threading.Lock()
VERIFIED_FOR_SECONDS = 300
VERIFIED_TOKENS_KEPT = 4096


def decode_token(settings: Settings, token: str) -> Principal:
    """Verify a token's signature, expiry, audience and issuer; read subject, roles and org
    (a token verified lately with the same settings is not verified again before it expires)."""
    key = (
        token,
        settings.jwt_secret,
        settings.jwt_public_key,
        settings.jwt_jwks_url,
        settings.jwt_audience,
        settings.jwt_issuer,
        settings.jwt_roles_claim,
    )
    now = time.time()
    verified = _VERIFIED.get(key)
    if verified is not None and now < verified[0]:
        return verified[1]
    principal, expires = _verify_token(settings, token)
    with _VERIFIED_LOCK:
        if len(_VERIFIED) >= VERIFIED_TOKENS_KEPT:
            _VERIFIED.pop(next(iter(_VERIFIED)))  # the oldest
        _VERIFIED[key] = (min(expires, now + VERIFIED_FOR_SECONDS), principal)
    return principal


def _verify_token(settings: Settings, token: str) -> tuple[Principal, float]:
    """The principal of a token that verifies, and the instant it expires."""
    try:
        key, algorithms = _verification_key(settings, token)
        claims = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub", "aud"]},
        )
    except jwt.MissingRequiredClaimError as error:
        raise _unauthorized(f"The bearer token lacks the '{error.claim}' claim.") from None
    except jwt.InvalidTokenError as error:
        detail = next(
            (text for kind, text in _INVALID_TOKEN_DETAILS if isinstance(error, kind)),
            "The bearer token is not valid.",
        )
        raise _unauthorized(detail) from None
    sub, org = claims["sub"], claims.get("org")
    roles = _claim(claims, settings.jwt_roles_claim) or []
    if not (isinstance(sub, str) and isinstance(roles, list) and isinstance(org, str | None)):
        raise _unauthorized("The bearer token's sub, roles or org claim is malformed.")
    if len(sub) > SUBJECT_LENGTH:
        raise _unauthorized(f"The bearer token's sub claim is over {SUBJECT_LENGTH} characters.")
    principal = Principal(sub=sub, roles=frozenset(r for r in roles if r in ROLES), org=org)
    return principal, float(claims["exp"])


def _bearer_token() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("An 'Authorization: Bearer <token>' header is required.", invalid=False)
    return token.strip()


API_KEY_HEADER = "X-Api-Key"
API_KEY_RESOLVER = "casehub_api_key_resolver"


def _api_key_principal() -> Principal | None:
    """A service may accept API keys (partners' machine credentials) besides bearer tokens:
    it registers ``app.extensions[API_KEY_RESOLVER]``, a function key -> Principal or None."""
    key = request.headers.get(API_KEY_HEADER)
    resolver = current_app.extensions.get(API_KEY_RESOLVER)
    if not key or resolver is None:
        return None
    principal = resolver(key)
    if principal is None:
        raise _unauthorized("The API key is not valid (unknown, rotated or revoked).")
    return principal


def _document_security(wrapper: Any, roles: tuple[str, ...]) -> None:
    """Make the OpenAPI operation show the bearer requirement and its 401/403 answers."""
    needed = ", ".join(roles) if roles else "any role"
    problem = {"content": {"application/problem+json": {"schema": ProblemSchema}}}
    wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
    manual = wrapper._apidoc.setdefault("manual_doc", {})
    manual["security"] = [{SECURITY_SCHEME_NAME: []}] + (
        [{API_KEY_SCHEME_NAME: []}] if API_KEY_ROLES & set(roles) else []
    )
    manual["x-required-roles"] = list(roles)
    responses = manual.setdefault("responses", {})
    responses[401] = {
        "description": "Missing, expired or invalid bearer token (or API key)",
        **problem,
    }
    responses[403] = {
        "description": f"Authenticated but lacks a required role: {needed}",
        **problem,
    }


def require_roles(*roles: str) -> Callable[[F], F]:
    """Allow the view only to callers holding any of `roles` (none given: any signed-in user).

    Put it directly under `@blp.route` / above `@blp.arguments`, so 401/403 come before 422.
    """
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}; known: {ROLES}")

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            refuse_if_guessing()
            try:
                principal = _api_key_principal() or decode_token(
                    current_app.extensions["casehub_settings"], _bearer_token()
                )
            except Problem as refusal:
                if "invalid_token" in refusal.headers.get("WWW-Authenticate", ""):
                    record_failed_credentials()  # a wrong credential, not a missing one
                raise
            if roles and not principal.has_any(*roles):
                g.casehub_refused_principal = principal  # for the audit of the refusal
                raise Problem(
                    403,
                    detail=f"This action requires one of the roles: {', '.join(roles)}.",
                    headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
                    required_roles=list(roles),
                )
            g.casehub_principal = principal
            context.actor.set(principal.sub)
            return current_app.ensure_sync(view)(*args, **kwargs)

        _document_security(wrapper, roles)
        return wrapper  # type: ignore[return-value]

    return decorator


def current_principal() -> Principal:
    """The caller of the current request; only valid inside a `require_roles` view."""
    principal = g.get("casehub_principal")
    if principal is None:
        raise RuntimeError("current_principal() called in a view without @require_roles")
    return principal
