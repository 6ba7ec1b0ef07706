"""Sign-in through the agency's OpenID provider: authorization code flow with PKCE (Authlib's
OAuth2Session), the ID token verified against the provider's keys (joserfc), refresh tokens
and RP-initiated logout. No Flask here: the routes in api.py hand in and out plain values."""

from __future__ import annotations

import secrets
import threading
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from services.web.config import OidcSettings

#: A refresh happens this long before the access token would expire.
REFRESH_MARGIN_SECONDS = 30


class SignInFailed(Exception):
    """The provider's answer cannot be trusted or used; the message is fit for the person."""


@dataclass(frozen=True)
class SignedIn:
    sub: str
    name: str
    roles: list[str]
    access_token: str
    refresh_token: str | None
    expires_at: float
    id_token: str | None

    def as_session(self) -> dict[str, Any]:
        return {
            "sub": self.sub,
            "name": self.name,
            "roles": self.roles,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
            "id_token": self.id_token,
        }


def claim(claims: Mapping[str, Any], path: str) -> Any:
    """A claim by name or dotted path, read as the APIs read ``CASEHUB_JWT_ROLES_CLAIM``."""
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


class Provider:
    """The provider's metadata and keys, fetched once and kept (keys refetched on rotation)."""

    def __init__(self, settings: OidcSettings, roles_claim: str, timeout: float = 10.0) -> None:
        self.settings = settings
        self.roles_claim = roles_claim
        self.timeout = timeout
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._lock = threading.Lock()

    @property
    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is None:
                try:
                    response = requests.get(self.settings.discovery_url, timeout=self.timeout)
                    response.raise_for_status()
                except requests.RequestException as error:
                    raise SignInFailed(
                        "The identity provider cannot be reached; please retry in a moment."
                    ) from error
                self._metadata = response.json()
            return self._metadata

    def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            response = requests.get(self.metadata["jwks_uri"], timeout=self.timeout)
            response.raise_for_status()
            self._keys = KeySet.import_key_set(response.json())
        return self._keys

    def _session(self, redirect_uri: str | None = None, *, scope: bool = True) -> OAuth2Session:
        return OAuth2Session(
            self.settings.client_id,
            self.settings.client_secret,
            scope=self.settings.scope if scope else None,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method=(
                "client_secret_basic" if self.settings.client_secret else "none"
            ),
        )

    def _extra(self) -> dict[str, str]:
        return {"resource": self.settings.resource} if self.settings.resource else {}

    def begin(self, redirect_uri: str) -> tuple[str, dict[str, str]]:
        """Where to send the browser, and what to keep in its session until it comes back."""
        pending = {
            "state": secrets.token_urlsafe(24),
            "nonce": secrets.token_urlsafe(24),
            "code_verifier": secrets.token_urlsafe(64),
        }
        url, _state = self._session(redirect_uri).create_authorization_url(
            self.metadata["authorization_endpoint"],
            state=pending["state"],
            nonce=pending["nonce"],
            code_verifier=pending["code_verifier"],
            **self._extra(),
        )
        return url, pending

    def finish(
        self, redirect_uri: str, arguments: Mapping[str, str], pending: Mapping[str, str]
    ) -> SignedIn:
        """Exchange the code (with the PKCE verifier) and verify the ID token (nonce too)."""
        if arguments.get("error"):
            raise SignInFailed(
                f"The identity provider refused the sign-in: {arguments.get('error_description') or arguments['error']}."
            )
        if not pending or not secrets.compare_digest(
            arguments.get("state", ""), pending.get("state", "")
        ):
            raise SignInFailed("This sign-in link is stale or was not started here; sign in again.")
        try:
            token = self._session(redirect_uri).fetch_token(
                self.metadata["token_endpoint"],
                code=arguments.get("code", ""),
                code_verifier=pending["code_verifier"],
                timeout=self.timeout,
                **self._extra(),
            )
        except Exception as error:  # Authlib raises OAuthError, requests its own errors
            raise SignInFailed(f"The identity provider did not issue tokens ({error}).") from None
        claims = self.verify_id_token(token.get("id_token", ""), nonce=pending["nonce"])
        return self._signed_in(token, claims)

    def verify_id_token(self, id_token: str, *, nonce: str | None) -> dict[str, Any]:
        if not id_token:
            raise SignInFailed("The identity provider sent no ID token.")
        try:
            try:
                decoded = jwt.decode(id_token, self._key_set())
            except JoseError:
                decoded = jwt.decode(id_token, self._key_set(refresh=True))
            expected: dict[str, Any] = {
                "iss": {"essential": True, "value": self.metadata["issuer"]},
                "aud": {"essential": True, "value": self.settings.client_id},
                "sub": {"essential": True},
                "exp": {"essential": True},
            }
            if nonce is not None:
                expected["nonce"] = {"essential": True, "value": nonce}
            jwt.JWTClaimsRegistry(leeway=60, **expected).validate(decoded.claims)
        except (JoseError, ValueError) as error:
            raise SignInFailed(f"The ID token could not be verified ({error}).") from None
        return dict(decoded.claims)

    def _signed_in(
        self,
        token: Mapping[str, Any],
        claims: Mapping[str, Any],
        previous: Mapping[str, Any] | None = None,
    ) -> SignedIn:
        roles = claim(claims, self.roles_claim)
        if not isinstance(roles, list):
            roles = list((previous or {}).get("roles") or [])
        expires_at = float(
            token.get("expires_at") or time.time() + float(token.get("expires_in", 300))
        )
        return SignedIn(
            sub=str(claims["sub"]),
            name=str(claims.get("name") or claims.get("preferred_username") or claims["sub"]),
            roles=[str(role) for role in roles],
            access_token=str(token["access_token"]),
            refresh_token=token.get("refresh_token") or (previous or {}).get("refresh_token"),
            expires_at=expires_at,
            id_token=token.get("id_token") or (previous or {}).get("id_token"),
        )

    def refresh(self, session_data: Mapping[str, Any]) -> SignedIn:
        """New tokens from the refresh token, the person unchanged (their sub must match)."""
        refresh_token = session_data.get("refresh_token")
        if not refresh_token:
            raise SignInFailed("Your sign-in has expired; please sign in again.")
        try:
            # No scope on a refresh: the grant's own (asking again may name one it lacks).
            token = self._session(scope=False).refresh_token(
                self.metadata["token_endpoint"],
                refresh_token=refresh_token,
                timeout=self.timeout,
                **self._extra(),
            )
        except Exception:
            raise SignInFailed("Your sign-in has expired; please sign in again.") from None
        claims: dict[str, Any] = {"sub": session_data["sub"], "name": session_data.get("name")}
        if token.get("id_token"):
            claims = self.verify_id_token(token["id_token"], nonce=None)
            if claims["sub"] != session_data["sub"]:
                raise SignInFailed("The identity provider answered for someone else.")
        return self._signed_in(token, claims, previous=session_data)

    def logout_url(self, id_token: str | None, after: str) -> str | None:
        """RP-initiated logout at the provider, coming back to ``after``; None if unsupported."""
        endpoint = self.metadata.get("end_session_endpoint")
        if not endpoint:
            return None
        query = {"post_logout_redirect_uri": after, "client_id": self.settings.client_id}
        if id_token:
            query["id_token_hint"] = id_token
        return f"{endpoint}?{urllib.parse.urlencode(query)}"


def needs_refresh(session_data: Mapping[str, Any], now: float) -> bool:
    return float(session_data.get("expires_at") or 0) - REFRESH_MARGIN_SECONDS <= now
