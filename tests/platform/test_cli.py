"""The ``casehub`` command as a newcomer and an operator use it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shared.config import Settings
from shared.web.auth import decode_token

ROOT = Path(__file__).resolve().parents[2]


def _casehub(*args: str, data_dir: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_DATABASE_URL") and key != "CASEHUB_BROKER_URL"
    }
    environment["CASEHUB_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_token_command_mints_a_token_the_services_accept(data_dir: Path) -> None:
    result = _casehub("token", "--sub", "u1", "--role", "case_manager", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    principal = decode_token(Settings.from_env("test", {}), result.stdout.strip())
    assert principal.sub == "u1" and principal.roles == frozenset({"case_manager"})


def test_migrate_all_and_dlq_list_on_the_embedded_default(data_dir: Path) -> None:
    migrated = _casehub("migrate", "all", data_dir=data_dir)
    assert migrated.returncode == 0, migrated.stderr
    assert {f"{name}.db" for name in ("intake", "planning", "referrals", "notifications")} <= {
        path.name for path in data_dir.iterdir()
    }
    listed = _casehub("dlq", "list", "planning", data_dir=data_dir)
    assert listed.returncode == 0, listed.stderr
    assert "0 dead-lettered event(s) in planning.events.dlq" in listed.stdout
    replay = _casehub("dlq", "replay", "planning", "no-such-id", data_dir=data_dir)
    assert replay.returncode == 1 and "not found: no-such-id" in replay.stderr


def test_dev_command_brings_up_all_four_services_healthy(data_dir: Path) -> None:
    """README command 1: every service's /healthz answers 200 on the embedded default."""
    result = _casehub("dev", "--check", data_dir=data_dir, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    for name, port in (
        ("intake", 8001),
        ("planning", 8002),
        ("referrals", 8003),
        ("notifications", 8004),
    ):
        assert f"{name:<14} http://127.0.0.1:{port}/docs   (up)" in result.stdout
    assert "case_manager   (cm-ana)" in result.stdout
    assert "demo data: 60 clients (50 assigned, 4 high risk, 4 discharged)" in result.stdout
