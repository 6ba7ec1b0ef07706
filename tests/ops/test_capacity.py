"""Sizing from the container, not the node: gunicorn workers follow the CPU quota a pod is
given, database pools and workers come from the environment, and an API waits for its schema."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from services.cli import main
from shared.config import container_cpus, default_api_workers
from shared.db import create_database_engine


def _cgroup_v2(folder: Path, cpu_max: str) -> Path:
    (folder / "cpu.max").write_text(cpu_max + "\n")
    return folder


def test_workers_follow_the_containers_cpu_quota_not_the_nodes_cpu_count(tmp_path: Path) -> None:
    pinned = len(os.sched_getaffinity(0))
    assert container_cpus(_cgroup_v2(tmp_path, "150000 100000")) == min(1.5, pinned)
    assert container_cpus(_cgroup_v2(tmp_path, "max 100000")) == pinned
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert container_cpus(v1) == 0.5
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")  # no limit
    assert container_cpus(v1) == pinned

    assert default_api_workers({}, cpus=0.5) == 2
    assert default_api_workers({}, cpus=1.5) == 4
    assert default_api_workers({}, cpus=64) == 8  # each worker holds its own database pool
    assert default_api_workers({"CASEHUB_API_WORKERS": "3"}, cpus=64) == 3


def test_database_pool_size_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CASEHUB_DB_POOL_SIZE", "3")
    monkeypatch.setenv("CASEHUB_DB_MAX_OVERFLOW", "1")
    engine = create_database_engine("postgresql://nobody@127.0.0.1:1/none")
    assert (engine.pool.size(), engine.pool._max_overflow) == (3, 1)  # type: ignore[attr-defined]


def test_migrate_check_says_whether_the_schema_is_at_this_releases_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    monkeypatch.setenv("INTAKE_DATABASE_URL", url)
    monkeypatch.setenv("CASEHUB_DATA_DIR", str(tmp_path))
    create_engine(url).connect().close()  # an empty database, as before the Job ran

    assert main(["migrate", "intake", "--check"]) == 1
    assert "intake: at empty, release needs intake_" in capsys.readouterr().err
    assert main(["migrate", "intake"]) == 0
    assert main(["migrate", "intake", "--check", "--wait", "5"]) == 0
    assert "intake: database at head" in capsys.readouterr().out
