"""Escalation ends at the on-call mailboxes. A deployment left with a placeholder there would lose
escalated crisis alerts silently, so it is said everywhere an operator looks: the worker is not
ready, the API's /readyz names it, casehub_configuration_problem counts it, the worker logs it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import requests
from prometheus_client import generate_latest

from services.notifications.channels import placeholder_address
from shared import metrics
from shared.worker import start_metrics_server
from tests.support.backends import Backend, embedded_backend
from tests.support.ports import free_port
from tests.support.service_api import ServiceApi

REAL_ADDRESSES = {
    "NOTIFICATIONS_ON_CALL_EMAIL": "crisis-team@agency.org.uk",
    "NOTIFICATIONS_INTAKE_ON_CALL_EMAIL": "intake-duty@agency.org.uk",
}


@pytest.mark.parametrize(
    ("address", "placeholder"),
    [
        ("on-call@localhost", True),
        ("on-call@example.org", True),
        ("duty@crisis.example", True),
        ("duty@team.test", True),
        ("", True),
        ("no-domain", True),
        ("on-call@agency.org.uk", False),
        ("duty@crisis.health.example.net.au", False),
    ],
)
def test_placeholder_addresses_are_recognised(address: str, placeholder: bool) -> None:
    assert placeholder_address(address) is placeholder


def _notifications(
    backend: Backend, data_dir: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> ServiceApi:
    for name in REAL_ADDRESSES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ServiceApi.start("notifications", backend, data_dir)


def _scraped_problems() -> str:
    return "\n".join(
        line
        for line in generate_latest(metrics.REGISTRY).decode().splitlines()
        if line.startswith("casehub_configuration_problem{")
    )


def test_placeholder_on_call_addresses_outside_the_embedded_default_are_reported(
    real_only: None, backend: Backend, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notifications = _notifications(backend, data_dir, monkeypatch, {})
    runtime = notifications.runtime
    problems = runtime.configuration_problems()
    assert set(problems) == set(REAL_ADDRESSES)
    assert "on-call@localhost" in problems["NOTIFICATIONS_ON_CALL_EMAIL"]
    # the API stays in service and says why on /readyz
    ready = notifications.http.get("/readyz")
    assert ready.status_code == 200
    assert "NOTIFICATIONS_ON_CALL_EMAIL" in ready.json["checks"]["configuration"]
    # the worker is not ready: a rollout stops there
    stop = threading.Event()
    port = free_port()
    server = start_metrics_server(runtime, [], stop, port, host="127.0.0.1")
    assert server is not None
    try:
        worker_ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert worker_ready.status_code == 503
        assert "reaches nobody" in worker_ready.json()["checks"]["configuration"]
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    finally:
        server.stop()
    assert (
        'casehub_configuration_problem{service="notifications",setting="NOTIFICATIONS_ON_CALL_EMAIL"} 1.0'
        in _scraped_problems()
    )


def test_real_on_call_addresses_clear_the_problem(
    real_only: None, backend: Backend, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notifications = _notifications(backend, data_dir, monkeypatch, REAL_ADDRESSES)
    runtime = notifications.runtime
    assert runtime.configuration_problems() == {}
    assert notifications.http.get("/readyz").json["checks"]["configuration"] == "ok"
    for hook in runtime.scrape_hooks():
        hook()
    assert 'setting="NOTIFICATIONS_ON_CALL_EMAIL"} 0.0' in _scraped_problems()


def test_the_embedded_default_needs_no_on_call_mailbox(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A laptop catches its mail locally: the placeholders are right there."""
    notifications = _notifications(embedded_backend(), data_dir, monkeypatch, {})
    assert notifications.runtime.configuration_problems() == {}
    assert notifications.http.get("/readyz").json["checks"]["configuration"] == "ok"
