"""Backends for the whole suite: every messaging test runs on real servers AND the embedded default."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.backends import (
    EMBEDDED,
    REAL,
    Backend,
    drop_templates,
    embedded_backend,
    real_backend,
    stop_containers,
)
from tests.support.private_servers import PrivatePostgres, PrivateRabbitMQ

_real: Backend | None = None
_real_checked = False


def _real_or_none() -> Backend | None:
    global _real, _real_checked
    if not _real_checked:
        _real_checked = True
        _real = real_backend()
        if _real is None and os.environ.get("CI"):
            raise pytest.UsageError(
                "CI must run the real-service tests: set CASEHUB_TEST_DATABASE_URL and "
                "CASEHUB_TEST_BROKER_URL (.ci/run does) or provide a Docker engine"
            )
    return _real


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        kinds = [REAL] if _real_or_none() is not None else []
        if "real_only" not in metafunc.fixturenames:
            kinds.append(EMBEDDED)
        metafunc.parametrize("backend", kinds, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Files holding a slow test run first (order within a file kept): pytest-xdist hands out
    whole files (``--dist loadfile``) in this order, so the long ones start at once instead of
    one of them keeping a worker busy at the end while the other has nothing left to do."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)


def pytest_report_header(config: pytest.Config) -> str:
    real = _real_or_none()
    where = (
        f"{real.admin_database_url} + {real.broker_url}"
        if real
        else "not available (embedded only)"
    )
    return f"casehub real-service backend: {where}"


@pytest.fixture
def real_only() -> None:
    """Marks a test that needs real servers (e.g. SKIP LOCKED, broker connections)."""


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    chosen = _real_or_none() if request.param == REAL else embedded_backend()
    assert chosen is not None
    yield chosen
    chosen.drop_databases()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    drop_templates()
    stop_containers()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "casehub"
    folder.mkdir()
    return folder


def _require(reason: str | None) -> None:
    """The fault tests need server binaries of their own; missing ones fail loudly, never skip."""
    if reason is not None:
        pytest.fail(
            f"the fault tests start a RabbitMQ node and a PostgreSQL cluster of their own: {reason} "
            "(install them, or leave the fault tests out with -m 'not slow')"
        )


@pytest.fixture(scope="session")
def private_rabbitmq() -> Iterator[PrivateRabbitMQ]:
    """One node for the whole session; each test has its own exchange and queues on it."""
    _require(PrivateRabbitMQ.unavailable())
    node = PrivateRabbitMQ()
    node.start()
    yield node
    node.shutdown()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    _require(PrivatePostgres.unavailable())
    cluster = PrivatePostgres()
    cluster.start()
    yield cluster
    cluster.shutdown()


#: Figures tests report with ``record_property(<section>, line)``; docs/reliability.md quotes them.
FIGURE_SECTIONS = ("schemathesis", "faults")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures at the end of the run (they travel in the test reports, so they also
    arrive from pytest-xdist workers)."""
    reports = terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", [])
    for section in FIGURE_SECTIONS:
        lines = sorted(
            str(value)
            for report in reports
            if report.when == "call"
            for name, value in report.user_properties
            if name == section
        )
        if lines:
            terminalreporter.section(section)
            for line in lines:
                terminalreporter.line(line)
