"""The ``casehub`` command as a newcomer and an operator use it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from shared.config import Settings
from shared.web.auth import decode_token
from tests.support.mail import free_port

ROOT = Path(__file__).resolve().parents[2]


def _casehub(
    *args: str, data_dir: Path, timeout: float = 60, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``casehub`` in its own process group; on timeout the whole group is killed."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_DATABASE_URL") and key != "CASEHUB_BROKER_URL"
    }
    environment["CASEHUB_DATA_DIR"] = str(data_dir)
    environment.update(extra_env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", *args],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise AssertionError(
            f"casehub {' '.join(args)} still running after {timeout} s\n{stdout}\n{stderr}"
        ) from None
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _free_port_run(length: int) -> int:
    """The first of ``length`` consecutive free ports on 127.0.0.1."""
    while True:
        base = free_port()
        if base + length > 65535:
            continue
        probes = [socket.socket() for _ in range(length)]
        try:
            for offset, probe in enumerate(probes):
                probe.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()


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
    base = _free_port_run(4)
    result = _casehub(
        "dev",
        "--check",
        "--base-port",
        str(base),
        data_dir=data_dir,
        timeout=240,
        extra_env={"NOTIFICATIONS_SMTP_PORT": str(free_port())},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for offset, name in enumerate(("intake", "planning", "referrals", "notifications")):
        assert f"{name:<14} http://127.0.0.1:{base + offset}/docs   (up)" in result.stdout
    assert "case_manager   (cm-ana)" in result.stdout
    assert "demo data: 60 clients (50 assigned, 4 high risk, 4 discharged)" in result.stdout


def test_dev_command_refuses_ports_another_process_listens_on(data_dir: Path) -> None:
    """A second ``casehub dev`` must not report another platform's services as its own."""
    base = _free_port_run(4)
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", base + 2))
        occupant.listen()
        result = _casehub("dev", "--check", "--base-port", str(base), data_dir=data_dir)
    assert result.returncode == 1
    assert f"port(s) {base + 2} already in use" in result.stderr
    assert not (data_dir / "intake.db").exists()


def test_api_refuses_the_public_development_secret_outside_the_embedded_default(
    data_dir: Path,
) -> None:
    """Anyone can mint an admin token with the development secret: a real deployment must not
    start with it, nor with a secret short enough to guess; the laptop default still may."""
    deployed = {
        "INTAKE_DATABASE_URL": "postgresql://casehub@127.0.0.1:1/intake",
        "CASEHUB_BROKER_URL": "amqp://guest:guest@127.0.0.1:1//",
    }
    for secret, reason in ((None, "development secret is public"), ("short", "shorter than 32")):
        environment = {**deployed, **({"CASEHUB_JWT_SECRET": secret} if secret else {})}
        refused = _casehub("api", "intake", data_dir=data_dir, extra_env=environment)
        assert refused.returncode == 2, refused.stderr
        assert "refusing to start" in refused.stderr and reason in refused.stderr
    assert Settings.from_env("intake", {"CASEHUB_DATA_DIR": str(data_dir)}).is_embedded_default
    assert (
        Settings.from_env(
            "intake", {**deployed, "CASEHUB_JWT_SECRET": "x" * 32}
        ).token_secret_problem()
        is None
    )
    assert (
        Settings.from_env(
            "intake", {**deployed, "CASEHUB_JWT_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----"}
        ).token_secret_problem()
        is None
    )
