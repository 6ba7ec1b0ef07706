"""Logs carry no client data and no secret: the demo data loader that ``casehub dev`` runs plus a
flow through all four services that writes every kind of free text, with every process logging at
DEBUG, a database password in the URLs, API keys, webhook secrets and tokens in play; then every
captured line is scanned. The CLI's startup output is scanned for passwords the same way."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_smorest import Blueprint
from sqlalchemy.engine import make_url
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from services import demo
from shared.config import Settings, without_password
from shared.crypto import generate_key
from shared.db import create_database_engine
from shared.web import create_service_app
from shared.web.auth import mint_token
from tests.support.backends import Backend
from tests.support.platform import wait_until
from tests.support.services import RunningServices

ROOT = Path(__file__).resolve().parents[2]
DATABASE_PASSWORD = "Db-pa55word-never-logged"
JWT_SECRET = "jwt-secret-that-must-never-be-logged-0123"
PARTNER_WEBHOOK_SECRET = "partner-webhook-secret-never-logged"
PERSON_WEBHOOK_SECRET = "person-webhook-secret-never-logged"
#: Free text a client's record holds in this flow; none of it may reach a log line.
CLIENT_TEXT = (
    "Zebediah",
    "Quixote-Marchbanks",
    "555-0199",
    "zeb.quixote@example.org",
    "No lorazepam please",
    "Philippa Wolstenholme",
    "sleeping in a stairwell behind the laundrette",
    "a flat near my sister Philippa",
    "met at the Dog and Duck",
    "Call Aunt Hermione",
    "Spoke to the carer about the laundrette",
    "Prefers afternoon visits",
)
JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+")


class _QuietHandler(WSGIRequestHandler):
    """Stands in for gunicorn, whose own access log ``casehub api`` turns off (ours runs)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def _with_password(settings: Settings) -> Settings:
    url = make_url(settings.database_url)
    if url.drivername.startswith("postgresql"):
        url = url.set(password=DATABASE_PASSWORD)
    return replace(
        settings,
        database_url=url.render_as_string(hide_password=False),
        jwt_secret=JWT_SECRET,
        log_level="DEBUG",
        allow_private_webhooks=True,  # the flow's webhooks go to https://127.0.0.1 (nothing listens)
    )


@pytest.fixture
def platform(backend: Backend, data_dir: Path, real_only: None) -> Iterator[RunningServices]:
    running = RunningServices(
        backend,
        data_dir,
        ["intake", "planning", "referrals", "notifications"],
        configure=_with_password,
    )
    yield running
    running.shutdown()


def _serve(platform: RunningServices) -> tuple[dict[str, FlaskClient], dict[str, str], list[Any]]:
    clients, urls, servers = {}, {}, []
    for name, runtime in platform.runtimes.items():
        app = runtime.create_app()  # configures logging at the settings' DEBUG level
        clients[name] = app.test_client()
        server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        urls[name] = f"http://127.0.0.1:{server.server_port}"
    return clients, urls, servers


def _bearer(settings: Settings, sub: str, role: str, org: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(settings, sub, [role], org=org)}"}


def _ok(response: Any) -> Any:
    assert response.status_code < 300, response.get_json()
    return response.get_json()


def _flow_with_free_text(
    http: dict[str, FlaskClient], settings: Settings, tokens: list[str]
) -> list[str]:
    """Every kind of free text and secret through all four services; returns secrets minted."""

    def as_(sub: str, role: str, org: str | None = None) -> dict[str, str]:
        headers = _bearer(settings, sub, role, org)
        tokens.append(headers["Authorization"].split()[1])
        return headers

    intake, planning, referrals, notifications = (
        http[name] for name in ("intake", "planning", "referrals", "notifications")
    )
    worker, cm, admin = (
        as_("iw-demo", "intake_worker"),
        as_("cm-ana", "case_manager"),
        as_("admin-demo", "admin"),
    )
    client = _ok(
        intake.post(
            "/clients",
            headers=worker,
            json={
                "given_name": "Zebediah",
                "family_name": "Quixote-Marchbanks",
                "date_of_birth": "1979-02-03",
                "contact": {"phone": "555-0199", "email": "zeb.quixote@example.org"},
                "advance_statement": "No lorazepam please",
                "nominated_persons": [
                    {"name": "Philippa Wolstenholme", "relationship_to_client": "family"}
                ],
                "confirmed_not_duplicate": True,
            },
        )
    )
    base = f"/clients/{client['id']}"
    _ok(intake.post(f"{base}/assignment", headers=worker, json={"case_manager_id": "cm-ana"}))
    _ok(
        intake.post(
            f"{base}/consents",
            headers=cm,
            json={
                "organization_id": "housing-first",
                "categories": ["contact_details", "assessment_summary"],
                "starts_on": date.today().isoformat(),
            },
        )
    )
    _ok(
        intake.post(
            f"{base}/assessments",
            headers=cm,
            json={
                "domains": {
                    "housing": {
                        "rating": "unmet_need",
                        "notes": "sleeping in a stairwell behind the laundrette",
                    }
                },
                "phq9": {"items": [3, 3, 3, 3, 3, 3, 3, 3, 2]},
            },
        )
    )
    _ok(intake.get(base, headers=cm))
    intake.get("/clients", headers=cm, query_string={"name": "Quixote-Marchbanks"})
    intake.post(  # refused input must not be echoed into a log line either
        "/clients",
        headers=worker,
        json={"given_name": "Zebediah", "family_name": "x" * 500, "date_of_birth": "someday"},
    )
    _ok(intake.patch(base, headers=cm, json={"advance_statement": "Prefers afternoon visits"}))

    def plan() -> Any:
        plans = planning.get("/plans", headers=cm, query_string={"client_id": client["id"]}).json[
            "items"
        ]
        return plans[0] if plans else None

    assert wait_until(lambda: plan() is not None, timeout=30)
    plan_id = plan()["id"]
    for goal in plan()["working_version"]["content"]["goals"]:
        _ok(
            planning.patch(
                f"/plans/{plan_id}/goals/{goal['id']}",
                headers=cm,
                json={
                    "in_own_words": "a flat near my sister Philippa",
                    "measurable_target": "Keys",
                    "target_date": "2027-06-30",
                },
            )
        )
    safety = {
        "warning_signs": ["Not sleeping"],
        "internal_coping_strategies": ["Music"],
        "distraction_people_and_places": ["Library"],
        "people_to_ask_for_help": ["Call Aunt Hermione"],
        "professionals_and_crisis_lines": ["Crisis line"],
        "making_environment_safe": ["Meds with pharmacist"],
    }
    planning.put(f"/plans/{plan_id}/safety-plan", headers=cm, json=safety)
    _ok(
        planning.post(
            f"/plans/{plan_id}/approve",
            headers=cm,
            json={"client_agreed": True, "method": "verbal", "present": ["client", "cm-ana"]},
        )
    )
    goal_id = plan()["working_version"]["content"]["goals"][0]["id"]
    _ok(
        planning.post(
            f"/plans/{plan_id}/goals/{goal_id}/progress-notes",
            headers=cm,
            json={"note": "met at the Dog and Duck", "attainment": 0},
        )
    )

    key = _ok(referrals.post("/organizations/housing-first/api-keys", headers=admin))["key"]
    partner_key = {"X-Api-Key": key}
    _ok(
        referrals.post(
            "/partner/webhooks",
            headers=partner_key,
            json={"url": "https://127.0.0.1:9/hook", "secret": PARTNER_WEBHOOK_SECRET},
        )
    )
    assert wait_until(
        lambda: (
            referrals.post(
                "/referrals",
                headers=cm,
                json={
                    "client_id": client["id"],
                    "service_id": "tenancy-support",
                    "packet": {
                        "contact_details": {"phone": "555-0199"},
                        "assessment_summary": "sleeping in a stairwell behind the laundrette",
                    },
                },
            ).status_code
            == 201
        ),
        timeout=30,
    )
    [draft] = [
        r for r in referrals.get("/referrals", headers=cm).json["items"] if r["status"] == "draft"
    ]
    _ok(referrals.post(f"/referrals/{draft['id']}/send", headers=cm))
    _ok(
        referrals.post(
            f"/partner/referrals/{draft['id']}/status",
            headers=partner_key,
            json={"status": "accepted", "note": "Spoke to the carer about the laundrette"},
        )
    )
    referrals.get("/partner/referrals", headers={"X-Api-Key": key + "-tampered"})
    _ok(
        notifications.put(
            "/users/cm-ana/preferences",
            headers=admin,
            json={
                "channels": ["webhook", "in_app"],
                "webhook_url": "https://127.0.0.1:9/person-hook",
                "webhook_secret": PERSON_WEBHOOK_SECRET,
            },
        )
    )
    assert wait_until(
        lambda: bool(notifications.get("/me/notifications", headers=cm).json["items"]),
        timeout=30,
    )
    return [key, key.split("_", 2)[2]]  # chk_<prefix>_<secret>: the secret may hold "_" too


def test_logs_at_debug_carry_no_client_data_and_no_secret(
    platform: RunningServices, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    http, urls, servers = _serve(platform)
    platform.start_workers()
    settings = platform["intake"].settings
    tokens: list[str] = []
    try:
        counts = demo.load_demo_data(
            settings, clients=12, urls=urls, planning=platform["planning"].settings
        )
        assert counts["clients"] == 12
        api_keys = _flow_with_free_text(http, settings, tokens)
    finally:
        for server in servers:
            server.shutdown()
    captured = capfd.readouterr()
    text = "\n".join([captured.out, captured.err, caplog.text])
    assert '"level": "debug"' in text or "DEBUG" in text, "DEBUG logging was on"
    assert "http_request" in text, "the access log did run"

    demo_names = [*demo.GIVEN, *demo.FAMILY]
    found = [name for name in demo_names if re.search(rf"\b{re.escape(name)}\b", text)]
    found += [phrase for phrase in CLIENT_TEXT if phrase.lower() in text.lower()]
    secrets = [JWT_SECRET, PARTNER_WEBHOOK_SECRET, PERSON_WEBHOOK_SECRET, *api_keys, *tokens]
    found += [secret[:12] + "…" for secret in secrets if secret in text]
    found += [f"a JWT: {match[:16]}…" for match in JWT.findall(text)]
    database_urls = [runtime.settings.database_url for runtime in platform.runtimes.values()]
    assert all(DATABASE_PASSWORD in url for url in database_urls), "the URLs carried a password"
    found += ["the database password"] if DATABASE_PASSWORD in text else []
    assert found == []


def test_without_password_masks_only_the_password() -> None:
    assert (
        without_password("postgresql+psycopg://casehub:s%40cret@db:5432/intake")
        == "postgresql+psycopg://casehub:***@db:5432/intake"
    )
    assert without_password("amqp://guest:guest@rabbit:5672//") == "amqp://guest:***@rabbit:5672//"
    assert without_password("filesystem://") == "filesystem://"
    assert without_password("sqlite:////var/lib/casehub/intake.db") == (
        "sqlite:////var/lib/casehub/intake.db"
    )


def _output_until(
    command: list[str], environment: dict[str, str], ready: Callable[[str], bool]
) -> str:
    """Everything a long-running CLI command prints until ``ready``; then it is stopped."""
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout or ()), daemon=True)
    reader.start()
    try:
        assert wait_until(lambda: ready("".join(output)), timeout=30), "".join(output)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=40)
        reader.join(timeout=10)
    return "".join(output)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_worker_and_api_startup_output_shows_no_password(
    backend: Backend, data_dir: Path, real_only: None
) -> None:
    database = make_url(backend.new_database("intake", data_dir)).set(password=DATABASE_PASSWORD)
    broker_password = "Br0ker-pa55word-never-logged"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")},
        "CASEHUB_DATA_DIR": str(data_dir),
        "INTAKE_DATABASE_URL": database.render_as_string(hide_password=False),
        "CASEHUB_BROKER_URL": f"amqp://casehub:{broker_password}@127.0.0.1:1//",
        "CASEHUB_BROKER_CONNECT_TIMEOUT": "1",
        "CASEHUB_LOG_LEVEL": "DEBUG",
        "CASEHUB_JWT_SECRET": JWT_SECRET,
        "CASEHUB_ENCRYPTION_KEYS": generate_key(),
    }
    casehub = [sys.executable, "-m", "services.cli"]
    worker = _output_until(
        [*casehub, "worker", "intake"],  # migrates first, as a deployment's first start does
        environment,
        lambda text: "worker.started" in text and "broker_unavailable" in text,
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve = ["api", "intake", "--no-migrate", "--host", "127.0.0.1", "--port", str(port)]
    api = _output_until(
        [*casehub, *serve, "--workers", "1"],
        environment,
        lambda _: _answers(f"http://127.0.0.1:{port}/healthz"),
    )
    assert "Running upgrade" in worker, "the migration's output was captured"
    for text in (worker, api):
        assert DATABASE_PASSWORD not in text and broker_password not in text
        assert JWT_SECRET not in text


failing_sql = Blueprint("failing_sql", __name__, url_prefix="/failing-sql")


@failing_sql.route("/<kind>", methods=["POST"])
def write_a_client(kind: str) -> None:
    """A write that fails in the database while carrying a client's name as a parameter."""
    from flask import current_app

    engine = create_database_engine(current_app.config["FAILING_SQL_URL"])
    statement = {
        "unavailable": "INSERT INTO no_such_table (name) VALUES (:name)",  # OperationalError
        "unexpected": "SELECT CAST(:name AS INTEGER) / 0 FROM no_such_view",
    }[kind]
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(statement), {"name": "".join(CLIENT_TEXT[:2])})
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["unavailable", "unexpected"])
def test_a_failed_statement_logs_no_parameter_values(
    kind: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The error handlers log the exception with its traceback; SQLAlchemy would put the bound
    values (a name here) into that text unless the engine hides them."""
    settings = Settings(
        service="test", data_dir=tmp_path, database_url="sqlite://", broker_url="memory://"
    )
    app, _ = create_service_app(
        settings,
        title="Failing SQL",
        description="A write that fails in the database.",
        blueprints=[failing_sql],
        readiness_checks={},
    )
    app.config["FAILING_SQL_URL"] = f"sqlite:///{tmp_path / 'failing.db'}"
    response = app.test_client().post(f"/failing-sql/{kind}")
    assert response.status_code >= 500 and response.content_type == "application/problem+json"
    logged = capfd.readouterr()
    text = logged.out + logged.err
    assert "no_such_" in text, "the failure was logged with its statement"
    assert "Zebediah" not in text and "Quixote" not in text
