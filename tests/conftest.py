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
    embedded_backend,
    real_backend,
    stop_containers,
)

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
    stop_containers()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "casehub"
    folder.mkdir()
    return folder
