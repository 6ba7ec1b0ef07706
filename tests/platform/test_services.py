"""The four service skeletons: migrations match models, apps answer probes and serve OpenAPI."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.catalog import load_spec, platform_topology
from shared.audit import PURPOSE_LENGTH
from shared.config import SERVICE_NAMES, Settings
from shared.migrations import compared_by_autogenerate
from shared.service import ServiceRuntime
from shared.web.auth import ROLES, mint_token
from tests.support.backends import Backend, embedded_backend

HTTP_METHODS = ("get", "put", "post", "patch", "delete")

#: Operations each service has at least (a guard against an empty OpenAPI document); reporting
#: only reads figures and its audit trail.
MINIMUM_OPERATIONS = {"reporting": 3}


def _runtime(name: str, backend: Backend, data_dir: Path) -> ServiceRuntime:
    settings = Settings(
        service=name,
        data_dir=data_dir,
        database_url=backend.new_database(name, data_dir),
        broker_url=backend.broker_url,
        broker_connect_timeout=2,
    )
    return ServiceRuntime(load_spec(name), settings, platform_topology(settings))


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_migrations_create_exactly_the_models_tables(
    name: str, backend: Backend, data_dir: Path
) -> None:
    runtime = _runtime(name, backend, data_dir)
    runtime.migrate()
    runtime.migrate()  # running again at head changes nothing
    with runtime.database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": compared_by_autogenerate}
        )
        differences = compare_metadata(context, runtime.spec.metadata)
    assert differences == []


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_service_answers_health_readiness_metrics_and_openapi(
    name: str, backend: Backend, data_dir: Path
) -> None:
    runtime = _runtime(name, backend, data_dir)
    runtime.migrate()
    client = runtime.create_app().test_client()

    assert client.get("/healthz").json == {"status": "ok", "service": name}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json
    checks = ready.json["checks"]
    assert {"database": checks.pop("database"), "broker": checks.pop("broker")} == {
        "database": "ok",
        "broker": "ok",
    }
    # Only notifications has settings a deployment must give (who is on call): reported, and
    # the API stays in service (tests/notifications/test_on_call_configuration.py).
    assert list(checks) == (["configuration"] if name == "notifications" else [])
    assert "casehub_outbox_pending" in client.get("/metrics").text
    spec = client.get("/openapi.json").json
    assert spec["info"]["title"] == f"Casehub {name}"
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    missing = client.get("/no/such/thing")
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_operation_documents_the_optional_x_purpose_header_once(
    name: str, data_dir: Path
) -> None:
    """The audit trail records X-Purpose on every operation, so every operation says it takes
    it, with the limit the service enforces and the 400 it answers to a malformed one."""
    spec = _runtime(name, embedded_backend(), data_dir).create_app().test_client()
    spec = spec.get("/openapi.json").json
    header = spec["components"]["parameters"]["XPurpose"]
    assert (header["name"], header["in"], header["required"]) == ("X-Purpose", "header", False)
    assert header["schema"]["maxLength"] == PURPOSE_LENGTH

    operations = {
        f"{method.upper()} {path}": operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }
    assert len(operations) >= MINIMUM_OPERATIONS.get(name, 6)
    without = {
        label: operation.get("parameters", [])
        for label, operation in operations.items()
        if [
            parameter
            for parameter in operation.get("parameters", [])
            if parameter.get("$ref") == "#/components/parameters/XPurpose"
            or parameter.get("name", "").lower() == "x-purpose"
        ]
        != [{"$ref": "#/components/parameters/XPurpose"}]
    }
    assert not without, f"operations not listing X-Purpose exactly once: {without}"
    no_400 = [
        label for label, operation in operations.items() if "400" not in operation["responses"]
    ]
    assert not no_400, f"operations not documenting the 400 for a malformed X-Purpose: {no_400}"


def test_service_is_not_ready_when_its_database_is_down(data_dir: Path) -> None:
    settings = Settings(
        service="intake",
        data_dir=data_dir,
        database_url="postgresql://postgres@127.0.0.1:1/nowhere",
        broker_url="filesystem://",
    )
    runtime = ServiceRuntime(load_spec("intake"), settings, platform_topology(settings))
    client = runtime.create_app().test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.content_type == "application/problem+json"
    assert "database" in ready.json["checks"] and ready.json["checks"]["broker"] == "ok"


def test_every_handled_event_type_has_a_contract_and_a_producer() -> None:
    """Contract test: what a service consumes is something another service publishes."""
    for name in SERVICE_NAMES:
        spec = load_spec(name)
        for routing_key in spec.handlers:
            contract = spec.registry.get(f"casehub.{routing_key}")
            assert contract.producer in SERVICE_NAMES and contract.producer != name


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_write_documents_the_optional_idempotency_key_and_reads_do_not(
    name: str, data_dir: Path
) -> None:
    """Clients learn from the spec that a write may be retried safely with a key, and what a
    reused or busy key answers."""
    spec = _runtime(name, embedded_backend(), data_dir).create_app().test_client()
    spec = spec.get("/openapi.json").json
    header = spec["components"]["parameters"]["IdempotencyKey"]
    assert (header["name"], header["in"], header["required"]) == (
        "Idempotency-Key",
        "header",
        False,
    )
    reference = {"$ref": "#/components/parameters/IdempotencyKey"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            listed = operation.get("parameters", []).count(reference)
            if method == "get":
                assert listed == 0, f"GET {path}"
            else:
                assert listed == 1, f"{method.upper()} {path}"
                assert {"409", "422"} <= set(operation["responses"]), f"{method.upper()} {path}"


class _PageAssets(HTMLParser):
    """The scripts and stylesheets a page makes a browser fetch."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("src"):
            self.urls.append(str(found["src"]))
        if tag == "link" and found.get("href"):
            self.urls.append(str(found["href"]))


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_docs_page_works_offline_every_script_and_style_comes_from_the_service(
    name: str, data_dir: Path
) -> None:
    """/docs is Swagger UI: without internet a CDN-hosted copy is a blank page, so the page names
    no other host and the service itself answers every script and stylesheet it references."""
    client = _runtime(name, embedded_backend(), data_dir).create_app().test_client()
    page = client.get("/docs")
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    html = page.get_data(as_text=True)
    assert not re.search(r"(https?:)?//[a-z0-9]", html, re.IGNORECASE), "an external host"
    parser = _PageAssets()
    parser.feed(html)
    assert any(url.endswith(".js") for url in parser.urls)
    assert any(url.endswith(".css") for url in parser.urls)
    for url in parser.urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        expected = "text/css" if url.endswith(".css") else "javascript"
        assert expected in asset.content_type, (url, asset.content_type)
        assert len(asset.get_data()) > 1000, url
    assert "SwaggerUIBundle" in client.get(parser.urls[-1]).get_data(as_text=True)
    assert '"validatorUrl": null' in html  # the badge would send the spec to swagger.io
    spec_url = re.search(r'url: "([^"]+)"', html)
    assert spec_url and client.get(spec_url.group(1)).json["info"]["title"] == f"Casehub {name}"


UNKNOWN = "casehub_no_such_parameter"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_endpoint_refuses_a_query_parameter_it_does_not_take_naming_it(
    name: str, data_dir: Path
) -> None:
    """A mistyped filter must not be ignored (an unfiltered answer looks like a real one): every
    operation of the OpenAPI document, and the probes and docs, answer 422 naming the parameter,
    after authentication (no token is still a 401) and whatever else the request carries."""
    runtime = _runtime(name, embedded_backend(), data_dir)
    runtime.migrate()
    client = runtime.create_app().test_client()
    token = mint_token(runtime.settings, "someone", list(ROLES), org="org-1")
    spec = client.get("/openapi.json").json
    operations = [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]
    assert len(operations) >= MINIMUM_OPERATIONS.get(name, 6)
    refused = []
    for method, path, operation in operations:
        url = re.sub(r"\{[^}]+\}", "1", path)
        declared = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]
        assert UNKNOWN not in declared
        answer = client.open(
            url,
            method=method.upper(),
            query_string={UNKNOWN: "1"},
            headers={"Authorization": f"Bearer {token}"},
        )
        label = f"{method.upper()} {path}"
        if answer.mimetype == "application/fhir+json":  # the FHIR API: an OperationOutcome
            named = detail = answer.json["issue"][0]["diagnostics"]
        else:
            assert answer.content_type == "application/problem+json", label
            named, detail = answer.json.get("errors", {}).get("query", {}), answer.json["detail"]
        if answer.status_code == 422 and UNKNOWN in named:
            assert "422" in operation["responses"], label
            assert all(name in detail for name in declared), label
            refused.append(label)
        if operation.get("security"):
            anonymous = client.open(url, method=method.upper(), query_string={UNKNOWN: "1"})
            assert anonymous.status_code == 401, label
    assert refused == [f"{method.upper()} {path}" for method, path, _ in operations]
    for public in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
        answer = client.get(public, query_string={UNKNOWN: "1", "also": "2"})
        assert answer.status_code == 422, public
        assert sorted(answer.json["errors"]["query"]) == ["also", UNKNOWN], public


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_list_answers_one_paged_shape_with_limit_and_cursor(
    name: str, data_dir: Path
) -> None:
    """A client (the web app, a partner) reads every list the same way: ``{items, next_cursor}``,
    a page at a time with ``limit`` and ``cursor``; no operation answers a bare array."""
    spec = _runtime(name, embedded_backend(), data_dir).create_app().test_client()
    spec = spec.get("/openapi.json").json
    lists, wrong = [], []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            label = f"{method.upper()} {path}"
            content = operation["responses"].get("200", {}).get("content", {})
            schema = _resolve(spec, content.get("application/json", {}).get("schema", {}))
            if schema.get("type") == "array":
                wrong.append(f"{label} answers a bare array")
                continue
            properties = schema.get("properties", {})
            if properties.get("items", {}).get("type") != "array":
                continue
            lists.append(label)
            query = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
            if "next_cursor" not in properties or not {"limit", "cursor"} <= query:
                wrong.append(f"{label} lacks next_cursor, limit or cursor")
    assert wrong == []
    if name == "reporting":  # figures, not records: its one list is its audit trail
        assert sorted(lists) == ["GET /audit"]
    else:
        assert len(lists) >= 3 and "GET /audit" in lists
