"""Tokens from an identity provider that publishes its keys as a JWKS and rotates them."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from shared.config import Settings
from shared.web.auth import decode_token
from shared.web.problems import Problem
from tests.support.ports import free_port


class IdentityProvider:
    """A JWKS endpoint on 127.0.0.1 whose published keys the test changes, as a rotation does."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []
        self.fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.fetches += 1
                body = json.dumps({"keys": provider.published}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks-{uuid.uuid4().hex}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, kid: str, private_key: Any) -> None:
        jwk = json.loads(
            jwt.algorithms.get_default_algorithms()[_alg(private_key)].to_jwk(
                private_key.public_key()
            )
        )
        self.published.append({**jwk, "kid": kid, "use": "sig"})


def _alg(private_key: Any) -> str:
    return "ES256" if isinstance(private_key, ec.EllipticCurvePrivateKey) else "RS256"


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _token(private_key: Any, kid: str | None, **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "sub": "cm-1",
        "aud": "casehub",
        "iss": "https://idp.example",
        "iat": now,
        "exp": now + 300,
        **claims,
    }
    headers = {"kid": kid} if kid else {}
    return jwt.encode(payload, private_key, algorithm=_alg(private_key), headers=headers)


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    yield provider
    provider.server.shutdown()


def _settings(idp: IdentityProvider, data_dir: Path, **extra: Any) -> Settings:
    return Settings(
        service="intake",
        data_dir=data_dir,
        database_url="postgresql://casehub@127.0.0.1/intake",
        broker_url="amqp://127.0.0.1//",
        jwt_jwks_url=idp.url,
        jwt_issuer="https://idp.example",
        **extra,
    )


def test_a_token_signed_with_a_published_key_is_accepted_with_roles_from_a_nested_claim(
    idp: IdentityProvider, data_dir: Path
) -> None:
    key = _rsa()
    idp.publish("2026-11", key)
    settings = _settings(idp, data_dir, jwt_roles_claim="realm_access.roles")
    token = _token(key, "2026-11", realm_access={"roles": ["case_manager", "offline_access"]})
    principal = decode_token(settings, token)
    assert principal.sub == "cm-1" and principal.roles == frozenset({"case_manager"})
    assert settings.token_secret_problem() is None


def test_a_rotated_key_is_fetched_when_a_token_first_names_it(
    idp: IdentityProvider, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = _rsa(), ec.generate_private_key(ec.SECP256R1())
    idp.publish("old", old)
    settings = _settings(idp, data_dir)
    assert decode_token(settings, _token(old, "old", roles=["admin"])).roles == {"admin"}
    idp.published = []
    idp.publish("new", new)
    # A minute on: past the 30 s refetch cooldown, within the cached set's 5-minute lifespan,
    # which still holds only "old". The provider's clock is not the test's to move.
    later = time.monotonic() + 60
    monkeypatch.setattr(jwt.jwks_client, "time", SimpleNamespace(monotonic=lambda: later))
    monkeypatch.setattr(jwt.jwk_set_cache, "time", SimpleNamespace(monotonic=lambda: later))
    principal = decode_token(settings, _token(new, "new", roles=["supervisor"]))
    assert principal.roles == frozenset({"supervisor"})
    assert idp.fetches == 2


@pytest.mark.parametrize("case", ["unpublished key", "no kid", "hs256 with the kid", "alg none"])
def test_tokens_the_provider_did_not_sign_are_401(
    idp: IdentityProvider, data_dir: Path, case: str
) -> None:
    published = _rsa()
    idp.publish("k1", published)
    settings = _settings(idp, data_dir)
    token = {
        "unpublished key": lambda: _token(_rsa(), "k2", roles=["admin"]),
        "no kid": lambda: _token(_rsa(), None, roles=["admin"]),
        "hs256 with the kid": lambda: jwt.encode(
            {"sub": "x", "aud": "casehub", "iss": "https://idp.example", "exp": 2**31},
            "a-guessed-secret-of-at-least-thirty-two-bytes",
            algorithm="HS256",
            headers={"kid": "k1"},
        ),
        "alg none": lambda: jwt.encode(
            {"sub": "x", "aud": "casehub", "exp": 2**31},
            None,
            algorithm="none",
            headers={"kid": "k1"},
        ),
    }[case]()
    with pytest.raises(Problem) as refused:
        decode_token(settings, token)
    assert refused.value.status == 401


def test_an_unreachable_provider_is_a_503_not_a_401(data_dir: Path) -> None:
    """The caller's token may be fine: say the keys are unavailable, so clients retry."""
    settings = Settings(
        service="intake",
        data_dir=data_dir,
        database_url="sqlite:///x.db",
        broker_url="filesystem://",
        jwt_jwks_url=f"http://127.0.0.1:{free_port()}/jwks",
    )
    with pytest.raises(Problem) as unavailable:
        decode_token(settings, _token(_rsa(), "k1", roles=["admin"]))
    assert unavailable.value.status == 503
