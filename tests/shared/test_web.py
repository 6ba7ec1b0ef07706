"""The shared HTTP layer: problem+json errors, JWT auth, request ids, probes and metrics."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import socket
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import jwt
import marshmallow as ma
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from flask.views import MethodView
from flask_smorest import Blueprint

from shared.config import Settings
from shared.logging import configure_logging
from shared.web import (
    Problem,
    create_service_app,
    current_principal,
    decode_token,
    mint_token,
    require_roles,
)

PROBLEM = "application/problem+json"
blp = Blueprint("things", __name__, url_prefix="/things", description="Test endpoints")


class ThingSchema(ma.Schema):
    count = ma.fields.Integer(required=True)


@blp.route("/")
class Things(MethodView):
    @blp.arguments(ThingSchema)
    @blp.response(201, ThingSchema)
    def post(self, thing: dict[str, Any]) -> dict[str, Any]:
        return thing


@blp.route("/mine")
@require_roles("case_manager")
@blp.response(200)
def mine() -> dict[str, Any]:
    principal = current_principal()
    return {"sub": principal.sub, "roles": sorted(principal.roles), "org": principal.org}


@blp.route("/conflict", methods=["POST"])
def conflict() -> None:
    raise Problem(409, detail="Cannot go from closed to open.", allowed=["a", "b"])


class SearchArgs(ma.Schema):
    name = ma.fields.String()


@blp.route("/search")
@blp.arguments(SearchArgs, location="query")
@blp.response(200)
def search(args: dict[str, Any]) -> dict[str, Any]:
    return {"found": 0}


@blp.route("/boom")
def boom() -> None:
    raise RuntimeError("secret internals: password=hunter2")


@blp.route("/database")
def database() -> None:
    engine = sa.create_engine("sqlite:////nonexistent-casehub-dir/unreachable.db")
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))


def _refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _broker_check() -> None:
    socket.create_connection(("127.0.0.1", _refused_port()), timeout=1).close()


def _database_check() -> None:
    with sa.create_engine("sqlite://").connect() as connection:
        connection.execute(sa.text("SELECT 1"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        service="test", data_dir=tmp_path, database_url="sqlite://", broker_url="memory://"
    )


def _app(settings: Settings, readiness: dict[str, Any] | None = None) -> Flask:
    app, _ = create_service_app(
        settings,
        title="Test service",
        description="Exercises the shared web layer.",
        blueprints=[blp],
        readiness_checks=readiness if readiness is not None else {"database": _database_check},
    )
    return app


@pytest.fixture
def client(settings: Settings) -> FlaskClient:
    return _app(settings).test_client()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"]
    return body


def test_validation_error_is_problem_json_naming_the_field(client: FlaskClient) -> None:
    body = _assert_problem(client.post("/things/", json={"count": "many"}), 422)
    assert body["title"] == "Unprocessable Content"
    assert body["errors"] == {"json": {"count": ["Not a valid integer."]}}
    assert "count" in body["detail"]
    assert body["instance"] == "/things/"


def test_valid_body_passes_through(client: FlaskClient) -> None:
    response = client.post("/things/", json={"count": 3})
    assert response.status_code == 201
    assert response.get_json() == {"count": 3}


def test_malformed_json_is_400_problem(client: FlaskClient) -> None:
    response = client.post("/things/", data='{"count": ', content_type="application/json")
    body = _assert_problem(response, 400)
    assert "JSON" in body["detail"]


def test_wrong_content_type_is_4xx_problem(client: FlaskClient) -> None:
    response = client.post("/things/", data="count=3", content_type="text/plain")
    body = _assert_problem(response, 415)
    assert "application/json" in body["detail"]


def test_unknown_route_is_404_problem(client: FlaskClient) -> None:
    _assert_problem(client.get("/no/such/route"), 404)


def test_wrong_method_is_405_problem_with_allow_header(client: FlaskClient) -> None:
    response = client.delete("/things/")
    _assert_problem(response, 405)
    assert "POST" in response.headers["Allow"]


def test_oversized_body_is_413_problem(settings: Settings) -> None:
    client = _app(settings).test_client()
    padding = "x" * (settings.max_content_length + 1)
    response = client.post("/things/", json={"count": 1, "padding": padding})
    body = _assert_problem(response, 413)
    assert body["title"] == "Content Too Large"


def test_domain_problem_keeps_its_extensions(client: FlaskClient) -> None:
    body = _assert_problem(client.post("/things/conflict"), 409)
    assert body["allowed"] == ["a", "b"]
    assert body["detail"] == "Cannot go from closed to open."


def test_unexpected_error_is_500_problem_without_traceback(
    client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    response = client.get("/things/boom", headers={"X-Request-ID": "req-500"})
    body = _assert_problem(response, 500)
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text
    assert body["request_id"] == "req-500"
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    failure = next(line for line in logged if line["event"] == "unhandled_exception")
    assert "RuntimeError" in failure["exception"]
    assert failure["correlation_id"] == "req-500"


def test_database_down_is_503_problem(client: FlaskClient) -> None:
    response = client.get("/things/database")
    body = _assert_problem(response, 503)
    assert response.headers["Retry-After"] == "5"
    assert "nonexistent" not in json.dumps(body)


def test_missing_token_is_401(client: FlaskClient) -> None:
    response = client.get("/things/mine")
    _assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_valid_token_reaches_the_view_with_its_principal(
    client: FlaskClient, settings: Settings
) -> None:
    token = mint_token(settings, "cm-7", ["case_manager", "astronaut"], org="org-1")
    response = client.get("/things/mine", headers=_bearer(token))
    assert response.status_code == 200
    assert response.get_json() == {"sub": "cm-7", "roles": ["case_manager"], "org": "org-1"}


def _assert_invalid_token(client: FlaskClient, token: str, phrase: str) -> None:
    response = client.get("/things/mine", headers=_bearer(token))
    body = _assert_problem(response, 401)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert phrase in body["detail"]
    assert token not in response.get_data(as_text=True)


def test_expired_token_is_401(client: FlaskClient, settings: Settings) -> None:
    token = mint_token(settings, "cm-7", ["case_manager"], ttl_seconds=-10)
    _assert_invalid_token(client, token, "expired")


def test_a_token_accepted_before_is_refused_once_it_expires(
    client: FlaskClient, settings: Settings
) -> None:
    """Verified tokens are remembered (not checked again on every request), never past their
    ``exp``; nor is a token remembered for settings that would not verify it."""
    token = mint_token(settings, "cm-7", ["case_manager"], ttl_seconds=2)
    for _ in range(2):
        assert client.get("/things/mine", headers=_bearer(token)).status_code == 200
    other_audience = replace(settings, jwt_audience="another-service")
    with pytest.raises(Problem):
        decode_token(other_audience, token)
    time.sleep(2.1)
    _assert_invalid_token(client, token, "expired")


def test_wrong_signature_is_401(client: FlaskClient, settings: Settings) -> None:
    forged = replace(settings, jwt_secret="not-the-server-secret-0123456789")
    _assert_invalid_token(client, mint_token(forged, "cm-7", ["case_manager"]), "signature")


def test_alg_none_is_401(client: FlaskClient, settings: Settings) -> None:
    now = int(time.time())
    claims = {"sub": "cm-7", "roles": ["case_manager"], "aud": settings.jwt_audience}
    claims |= {"iss": settings.jwt_issuer, "iat": now, "exp": now + 60}
    _assert_invalid_token(client, jwt.encode(claims, None, algorithm="none"), "algorithm")


def test_wrong_audience_is_401(client: FlaskClient, settings: Settings) -> None:
    other = replace(settings, jwt_audience="another-platform")
    _assert_invalid_token(client, mint_token(other, "cm-7", ["case_manager"]), "audience")


def test_garbage_token_is_401(client: FlaskClient) -> None:
    _assert_invalid_token(client, "not-a-jwt", "malformed")


def test_role_missing_is_403(client: FlaskClient, settings: Settings) -> None:
    token = mint_token(settings, "partner-1", ["partner"], org="org-1")
    response = client.get("/things/mine", headers=_bearer(token))
    body = _assert_problem(response, 403)
    assert "case_manager" in body["detail"]


def _rsa_keys() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def test_rs256_token_verified_with_public_key(settings: Settings) -> None:
    private, public = _rsa_keys()
    production = replace(settings, jwt_public_key=public)
    client = _app(production).test_client()
    token = mint_token(production, "cm-7", ["case_manager"], private_key=private)
    assert client.get("/things/mine", headers=_bearer(token)).status_code == 200
    other_private, _ = _rsa_keys()
    forged = mint_token(production, "cm-7", ["case_manager"], private_key=other_private)
    _assert_invalid_token(client, forged, "signature")


def _hs256_signed_with(secret: bytes, claims: dict[str, Any]) -> str:
    """Forge by hand: PyJWT itself refuses to use a PEM public key as an HMAC secret."""

    def segment(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = ".".join(
        segment(json.dumps(part).encode()) for part in ({"alg": "HS256", "typ": "JWT"}, claims)
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{segment(signature)}"


def test_hs256_token_signed_with_public_key_is_refused(settings: Settings) -> None:
    _, public = _rsa_keys()
    production = replace(settings, jwt_public_key=public)
    client = _app(production).test_client()
    now = int(time.time())
    claims = {"sub": "cm-7", "roles": ["case_manager"], "aud": "casehub", "iss": "casehub"}
    forged = _hs256_signed_with(public.encode(), claims | {"iat": now, "exp": now + 60})
    _assert_invalid_token(client, forged, "algorithm")


def test_require_roles_rejects_unknown_role_names() -> None:
    with pytest.raises(ValueError, match="casemanager"):
        require_roles("casemanager")


def test_request_id_is_echoed_and_generated(client: FlaskClient) -> None:
    echoed = client.get("/healthz", headers={"X-Request-ID": "abc-123:x.y_z"})
    assert echoed.headers["X-Request-ID"] == "abc-123:x.y_z"
    generated = client.get("/healthz")
    unsafe = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    ids = {generated.headers["X-Request-ID"], unsafe.headers["X-Request-ID"]}
    assert len(ids) == 2
    assert all(len(value) == 36 for value in ids)


def test_access_log_is_one_json_line_without_query_values(
    client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    client.get("/things/search?name=Jane+Doe", headers={"X-Request-ID": "req-log"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    access = [line for line in lines if line["event"] == "http_request"]
    assert len(access) == 1
    assert access[0]["path"] == "/things/search"
    assert access[0]["status"] == 200
    assert access[0]["request_id"] == "req-log"
    assert access[0]["service"] == "test"
    assert "Jane" not in json.dumps(lines)


def test_stdlib_logs_are_json_and_configuring_twice_adds_no_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("intake")
    configure_logging("intake", "DEBUG")
    logging.getLogger("kombu.connection").info("connected to %s", "broker")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert len(lines) == 1
    assert lines[0]["event"] == "connected to broker"
    assert lines[0] | {"timestamp": "t"} == {
        "event": "connected to broker",
        "level": "info",
        "logger": "kombu.connection",
        "service": "intake",
        "timestamp": "t",
    }
    assert lines[0]["timestamp"].endswith("Z")


def test_openapi_json_documents_bearer_security(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert {key: scheme[key] for key in ("type", "scheme", "bearerFormat")} == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert "X-Purpose" in scheme["description"]
    protected = spec["paths"]["/things/mine"]["get"]
    assert protected["security"] == [{"bearerAuth": []}]
    assert {"401", "403"} <= set(protected["responses"])
    assert "security" not in spec["paths"]["/things/"]["post"]
    assert "/healthz" not in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_x_purpose_is_accepted_and_refused_exactly_as_its_documented_schema_says(
    client: FlaskClient,
) -> None:
    """The header's maxLength and pattern are the rule the request context applies: the longest
    documented value passes whole, one character more or a control character is a 400 problem
    naming the header (never silently cut), and the spaces around a value are not part of it."""
    spec = client.get("/openapi.json").get_json()
    schema = spec["components"]["parameters"]["XPurpose"]["schema"]
    longest = schema["maxLength"]
    pattern = re.compile(schema["pattern"])

    def post(purpose: str) -> Any:
        return client.post("/things/", json={"count": 1}, headers={"X-Purpose": purpose})

    accepted = ["x" * longest, f"  {'y' * longest}\t", "café visit ~ 2", "   "]
    for purpose in accepted:
        assert pattern.fullmatch(purpose.strip(" \t")), purpose
        assert post(purpose).status_code == 201, purpose
    for purpose in ["x" * (longest + 1), "tab\tinside", "bell\x07", "delete\x7f", "euro €"]:
        assert len(purpose) > longest or not pattern.fullmatch(purpose), purpose
        body = _assert_problem(post(purpose), 400)
        assert "X-Purpose" in body["detail"] and "X-Purpose" in body["errors"]["headers"]


def test_healthz_ok_and_readyz_reports_failing_check(settings: Settings) -> None:
    healthy = _app(settings).test_client()
    assert healthy.get("/healthz").get_json() == {"status": "ok", "service": "test"}
    ready = healthy.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": "ok"}

    broken = _app(settings, {"database": _database_check, "broker": _broker_check})
    client = broken.test_client()
    assert client.get("/healthz").status_code == 200
    body = _assert_problem(client.get("/readyz"), 503)
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("ConnectionRefusedError")
    assert "broker" in body["detail"]


def test_metrics_exposes_request_histogram(client: FlaskClient) -> None:
    client.get("/things/mine")
    client.get("/no/such/route/42")
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "casehub_http_request_duration_seconds_bucket" in text
    assert 'endpoint="/things/mine"' in text and 'status="401"' in text
    assert 'endpoint="<unmatched>"' in text
    assert "/no/such/route/42" not in text
    assert "casehub_outbox_pending" in text
