"""The ``casehub`` command as a newcomer and an operator use it."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient

from services.catalog import runtime_for
from services.cli.dev import ports_in_use
from shared.clock import agency_today
from shared.config import SERVICE_NAMES, Settings
from shared.web.auth import decode_token, mint_token
from tests.support.ports import free_port
from tests.support.processes import DevProcess, dev_ports, dev_worker_ports

ROOT = Path(__file__).resolve().parents[2]


def _environment(data_dir: Path | None, extra_env: dict[str, str] | None) -> dict[str, str]:
    """The embedded default (no server URLs), in ``data_dir`` if given."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_DATABASE_URL")
        and key not in ("CASEHUB_BROKER_URL", "CASEHUB_DATA_DIR", "NOTIFICATIONS_SMTP_PORT")
    }
    if data_dir is not None:
        environment["CASEHUB_DATA_DIR"] = str(data_dir)
    environment.update(extra_env or {})
    return environment


def _casehub(
    *args: str,
    data_dir: Path | None,
    timeout: float = 60,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``casehub`` in its own process group; on timeout the whole group is killed."""
    environment = _environment(data_dir, extra_env)
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


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_dev_command_brings_up_all_four_services_with_demo_data_showing_every_feature(
    data_dir: Path,
) -> None:
    """README command 1: every service's /healthz answers 200 on the embedded default, and the
    demo data has active plans, a review due and one overdue, and its crisis alerts acknowledged
    (so nothing escalates by itself a quarter of an hour later)."""
    base, mail = dev_ports()
    result = _casehub("dev", "--check", "--base-port", str(base), data_dir=data_dir, timeout=800)
    assert result.returncode == 0, result.stdout + result.stderr
    for offset, name in enumerate(("intake", "planning", "referrals", "notifications")):
        assert f"{name:<14} http://127.0.0.1:{base + offset}/docs   (up)" in result.stdout
    assert f"Open Casehub: http://127.0.0.1:{base - 1}   (sign in as a demo person" in result.stdout
    assert f"email: caught on 127.0.0.1:{mail}, written to {data_dir / 'mail'}" in result.stdout
    assert "case_manager   (cm-ana)" in result.stdout
    demo = re.search(
        r"demo data: 60 clients \(50 assigned, 4 high risk, 4 discharged\); (\d+) active plans, "
        r"(\d+) drafts; reviews 1 due, 1 overdue; 4 crisis alerts acknowledged",
        result.stdout,
    )
    assert demo, result.stdout
    active = int(demo[1])
    assert active >= 2 and active + int(demo[2]) == 46  # assigned and not discharged

    today = agency_today()
    planning = _api("planning", data_dir)
    admin = _bearer(planning, "admin-demo", "admin")
    plans = planning.get("/plans", query_string={"status": "active", "limit": 200}, headers=admin)
    assert len(plans.json["items"]) == active
    assert today.isoformat() in {plan["next_review_due"] for plan in plans.json["items"]}
    overdue = planning.get("/reviews/overdue", headers=admin).json["items"]
    assert [review["due_on"] for review in overdue] == [(today - timedelta(days=14)).isoformat()]
    notifications = _api("notifications", data_dir)
    urgent = [
        item
        for cm in ("cm-ana", "cm-ben", "cm-chloe", "cm-dev")
        for item in notifications.get(
            "/me/notifications",
            query_string={"limit": 200},
            headers=_bearer(notifications, cm, "case_manager"),
        ).json["items"]
        if item["urgency"] == "urgent"
    ]
    assert len({item["notification_id"] for item in urgent}) == 4
    assert all(item["acknowledged_at"] for item in urgent)


def _api(name: str, data_dir: Path) -> FlaskClient:
    """A service's API over the data ``casehub dev`` left, as a user would query it."""
    runtime = runtime_for(name, Settings.from_env(name, {"CASEHUB_DATA_DIR": str(data_dir)}))
    return runtime.create_app().test_client()


def _bearer(client: FlaskClient, sub: str, role: str) -> dict[str, str]:
    settings = client.application.extensions["casehub_settings"]
    return {"Authorization": f"Bearer {mint_token(settings, sub, [role])}"}


@pytest.mark.slow
def test_a_second_dev_instance_has_its_own_data_mail_and_tokens_and_ctrl_c_stops_it(
    tmp_path: Path,
) -> None:
    """``casehub dev --base-port`` beside another: its own data folder, mail catcher port and
    workers' metrics ports, the banner's email line, tokens kept in a private file and printed again by ``--tokens``; a
    second instance on the same folder is refused; Ctrl-C (SIGINT to the terminal's process
    group) stops every process without gunicorn killing a worker."""
    base, mail = dev_ports()
    environment = _environment(None, {"XDG_DATA_HOME": str(tmp_path)})
    dev = DevProcess(base, environment)
    try:
        banner = dev.banner()
        own = tmp_path / f"casehub-{base}"
        text = "".join(banner)
        assert f"data: {own}" in text
        assert f"email: caught on 127.0.0.1:{mail}, written to {own / 'mail'}" in text
        workers = dev_worker_ports(base)
        assert f"workers' /metrics and /healthz: intake 127.0.0.1:{workers[0]}," in text
        for port in workers:
            health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            assert health.status_code == 200 and health.json()["checks"] == {"threads": "ok"}
        tokens = own / "dev-tokens.txt"
        assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
        token_lines = [line.rstrip("\n") for line in banner if "(cm-ana)" in line]
        assert len(token_lines) == 1
        again = _casehub(
            "dev", "--tokens", "--base-port", str(base), data_dir=None, extra_env=environment
        )
        assert again.returncode == 0, again.stderr
        assert token_lines[0] in again.stdout.splitlines()
        token = token_lines[0].split()[-1]
        assert decode_token(Settings.from_env("test", {}), token).sub == "cm-ana"
        other_base, _ = dev_ports()
        shared = _casehub(
            "dev", "--check", "--no-demo-data", "--base-port", str(other_base), data_dir=own
        )
        assert shared.returncode == 1 and f"another casehub dev uses {own}" in shared.stderr
    finally:
        stopping = dev.interrupt()
    assert dev.process.returncode == 0, stopping
    assert "Perhaps out of memory" not in stopping and "SIGKILL" not in stopping
    assert (
        ports_in_use(
            [base - 1, *range(base, base + len(SERVICE_NAMES)), mail, *dev_worker_ports(base)]
        )
        == []
    )


def test_without_aiosmtpd_the_dev_mail_catcher_says_how_to_install_it(tmp_path: Path) -> None:
    """aiosmtpd is a development extra, not in the production image: casehub still imports, and
    the mail catcher says what to install instead of failing with an ImportError."""
    script = (
        "import sys\n"
        "sys.modules['aiosmtpd'] = sys.modules['aiosmtpd.controller'] = None\n"
        "from pathlib import Path\n"
        "from services.cli import build_parser\n"
        "from services.mailcatcher import MailCatcherUnavailable, start_mail_catcher\n"
        "build_parser().parse_args(['dev'])\n"
        "try:\n"
        f"    start_mail_catcher(Path({str(tmp_path)!r}), {free_port()})\n"
        "except MailCatcherUnavailable as why:\n"
        "    print(why)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "needs aiosmtpd" in result.stdout and "pip install -e '.[dev]'" in result.stdout


def test_dev_command_refuses_ports_another_process_listens_on(data_dir: Path) -> None:
    """A second ``casehub dev`` must not report another platform's services as its own."""
    base, _mail = dev_ports()  # every port of it free but the one taken below
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
