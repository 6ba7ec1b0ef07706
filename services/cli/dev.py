"""``casehub dev``: every service, its worker and the web app on this machine, with demo data."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.catalog import runtime_for
from services.cli.database import migrate_web
from shared.config import (
    ALLOW_PRIVATE_WEBHOOKS_VARIABLE,
    SERVICE_NAMES,
    SERVICE_PORTS,
    WORKER_METRICS_PORTS,
    Settings,
    default_data_dir,
    without_password,
)


def _wait_healthy(url: str, deadline: float, process: subprocess.Popen[bytes]) -> bool:
    """True once ``url`` answers 200; False at the deadline or as soon as the server has exited."""
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def ports_in_use(ports: Sequence[int]) -> list[int]:
    """Ports on 127.0.0.1 something already listens on (another ``casehub dev``, say)."""
    taken = []
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                taken.append(port)
    return taken


#: Ctrl-C must stop ``casehub dev`` within 5 s: each process gets this long to stop cleanly.
STOP_GRACE_SECONDS = 4.0


def _stop(children: Sequence[subprocess.Popen[bytes]], grace: float = STOP_GRACE_SECONDS) -> int:
    """SIGTERM each child once (gunicorn stops its workers gracefully, a worker finishes its
    batch), then SIGKILL the process group of any still running after ``grace``."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(child.poll() is None for child in children):
        time.sleep(0.05)
    for child in children:
        if child.poll() is None:
            print(f"process {child.pid} did not stop in {grace:.0f} s: killed", file=sys.stderr)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
    codes = [child.wait() for child in children]
    return next((code for code in codes if code > 0), 0)


DEV_BASE_PORT = SERVICE_PORTS[SERVICE_NAMES[0]]
DEV_PEOPLE = {
    "intake_worker": "iw-demo",
    "case_manager": "cm-ana",
    "supervisor": "sup-maria",
    "admin": "admin-demo",
    "partner": "housing-first-staff",
    "on_call": "on-call-demo",
    "reporting": "reporting-demo",
}
DEV_TOKEN_HOURS = 12
TOKENS_FILE = "dev-tokens.txt"


def _use_instance_data_dir(base_port: int) -> None:
    """Two ``casehub dev`` side by side must not share SQLite files, broker folder or mail: on
    another base port, and unless CASEHUB_DATA_DIR says otherwise, data goes to its own folder."""
    if base_port != DEV_BASE_PORT and not os.environ.get("CASEHUB_DATA_DIR"):
        os.environ["CASEHUB_DATA_DIR"] = str(default_data_dir().with_name(f"casehub-{base_port}"))


def _mail_port(base_port: int) -> int:
    """NOTIFICATIONS_SMTP_PORT if set; else 1025, moved as far as the base port moved."""
    from services.mailcatcher import DEFAULT_PORT

    if os.environ.get("NOTIFICATIONS_SMTP_PORT"):
        return int(os.environ["NOTIFICATIONS_SMTP_PORT"])
    port = DEFAULT_PORT + base_port - DEV_BASE_PORT
    return port if 1024 <= port <= 65535 else base_port + len(SERVICE_NAMES)


def _worker_metrics_ports(base_port: int) -> dict[str, int]:
    """Each worker's /metrics and /healthz port, moved as far as the base port moved (9101…
    beside 8001…), so a second ``casehub dev`` has its own; 0 (none) if that leaves the range."""
    moved = {name: WORKER_METRICS_PORTS[name] + base_port - DEV_BASE_PORT for name in SERVICE_NAMES}
    return {name: port if 1024 <= port <= 65535 else 0 for name, port in moved.items()}


def _mail_goes_elsewhere() -> str | None:
    """The SMTP host named in NOTIFICATIONS_SMTP_HOST when it is not this machine."""
    host = os.environ.get("NOTIFICATIONS_SMTP_HOST", "127.0.0.1")
    return None if host in ("127.0.0.1", "localhost", "::1") else host


def _lock_data_dir(data_dir: Path) -> Any:
    """An open file holding an exclusive lock on the data folder; None if another process has it."""
    import fcntl

    data_dir.mkdir(parents=True, exist_ok=True)
    handle = (data_dir / "dev.lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def write_dev_tokens(settings: Settings) -> tuple[Path, list[str]]:
    """Mint a token per role for the demo people and write them, readable by this user only,
    to the data folder (logs scroll them away; ``casehub dev --tokens`` prints them again)."""
    from shared.web.auth import ROLES, mint_token

    until = datetime.now(UTC) + timedelta(hours=DEV_TOKEN_HOURS)
    lines = [f"Development tokens (valid until {until:%Y-%m-%d %H:%M} UTC):"]
    for role in ROLES:
        org = "housing-first" if role == "partner" else None
        person = DEV_PEOPLE[role]
        token = mint_token(settings, person, [role], org=org, ttl_seconds=DEV_TOKEN_HOURS * 3600)
        lines.append(f"  {role:<14} ({person}) {token}")
    path = settings.data_dir / TOKENS_FILE
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an older file keeps its mode on O_TRUNC
    with os.fdopen(descriptor, "w") as file:
        file.write("\n".join(lines) + "\n")
    return path, lines


def _print_dev_tokens(settings: Settings) -> int:
    path = settings.data_dir / TOKENS_FILE
    if not path.exists():
        print(f"no tokens in {path}: start casehub dev first", file=sys.stderr)
        return 1
    print(path.read_text(), end="")
    print(f"(from {path}; `.venv/bin/casehub token --sub <id> --role <role>` mints others)")
    return 0


def _base_port_argument(base_port: int) -> list[str]:
    return [] if base_port == DEV_BASE_PORT else ["--base-port", str(base_port)]


def _load_demo_data(settings: Settings, ports: dict[str, int]) -> bool:
    """Load the demo data through the running APIs; False, said plainly, if that failed."""
    from services.demo import SUPERVISOR, TEAM, load_demo_data

    print("  demo data: loading through the APIs…", flush=True)
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    try:
        counts = load_demo_data(settings, urls=urls, planning=Settings.from_env("planning"))
    except (OSError, TimeoutError) as error:
        print(f"  demo data: NOT complete ({error}); the services keep running", flush=True)
        return False
    print(
        f"  demo data: {counts['clients']} clients ({counts['assigned']} assigned, "
        f"{counts['high_risk']} high risk, {counts['discharged']} discharged); "
        f"{counts['active_plans']} active plans, {counts['draft_plans']} drafts; "
        f"reviews {counts['reviews_due']} due, {counts['reviews_overdue']} overdue; "
        f"{counts['alerts_acknowledged']} crisis alerts acknowledged; "
        f"supervisor {SUPERVISOR}, case managers {', '.join(cm for cm, _ in TEAM)}"
    )
    return True


def cmd_dev(args: argparse.Namespace) -> int:
    """Every service and its worker on this machine, embedded default unless configured."""
    from services.mailcatcher import MailCatcherUnavailable, start_mail_catcher

    _use_instance_data_dir(args.base_port)
    if args.tokens:
        return _print_dev_tokens(Settings.from_env("dev"))
    ports = {name: args.base_port + offset for offset, name in enumerate(SERVICE_NAMES)}
    web_port = args.base_port - 1  # 8000 beside intake's 8001
    smtp_host = _mail_goes_elsewhere()
    mail_port = _mail_port(args.base_port)
    metrics_ports = _worker_metrics_ports(args.base_port)
    taken = ports_in_use([web_port, *ports.values(), *([] if smtp_host else [mail_port])])
    if taken:
        print(
            f"port(s) {', '.join(map(str, taken))} already in use on 127.0.0.1 (is another "
            "casehub dev running?): stop it, or choose other ports with --base-port",
            file=sys.stderr,
        )
        return 1
    settings = Settings.from_env("dev")
    lock = _lock_data_dir(settings.data_dir)
    if lock is None:
        print(
            f"another casehub dev uses {settings.data_dir}: stop it, or give this one its own "
            "data folder (CASEHUB_DATA_DIR=<folder>)",
            file=sys.stderr,
        )
        return 1
    for name in SERVICE_NAMES:
        runtime_for(name).migrate()
    migrate_web(check=False, wait=0)
    mail_folder = settings.data_dir / "mail"
    catcher = None
    if smtp_host:
        email = f"sent to {smtp_host}:{mail_port} (NOTIFICATIONS_SMTP_HOST)"
    else:
        try:
            catcher = start_mail_catcher(mail_folder, mail_port)
            email = f"caught on 127.0.0.1:{mail_port}, written to {mail_folder}"
        except MailCatcherUnavailable as why:
            email = f"NOT caught: {why}; email deliveries will fail"
    command = [sys.executable, "-m", "services.cli"]
    environment = {
        # Links in notifications open the web app.
        "CASEHUB_APP_URL": f"http://127.0.0.1:{web_port}",
        **{
            f"CASEHUB_{name.upper()}_URL": f"http://127.0.0.1:{port}"
            for name, port in ports.items()
        },
        # Everything listens on loopback here: webhooks may reach a receiver on this machine.
        **({ALLOW_PRIVATE_WEBHOOKS_VARIABLE: "1"} if settings.is_embedded_default else {}),
        **os.environ,
        "NOTIFICATIONS_SMTP_PORT": str(mail_port),
    }
    apis: dict[str, subprocess.Popen[bytes]] = {}
    children: list[subprocess.Popen[bytes]] = []
    running = False
    interrupted = False

    def interrupt(*_: object) -> None:
        """Ctrl-C reaches this process only (each child has its own process group, so gunicorn
        never gets SIGINT from the terminal and SIGQUIT from its master at once): stop them."""
        nonlocal interrupted
        interrupted = True
        if not running:
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)

    def start(*arguments: str) -> subprocess.Popen[bytes]:
        child = subprocess.Popen([*command, *arguments], env=environment, process_group=0)
        children.append(child)
        return child

    try:
        web = start(
            "api",
            "web",
            "--host",
            "127.0.0.1",
            "--port",
            str(web_port),
            "--workers",
            str(args.workers),
        )
        for name in SERVICE_NAMES:
            start("worker", name, "--no-migrate", "--metrics-port", str(metrics_ports[name]))
            apis[name] = start(
                "api",
                name,
                "--no-migrate",
                "--host",
                "127.0.0.1",
                "--port",
                str(ports[name]),
                "--workers",
                str(args.workers),
            )
        deadline = time.monotonic() + 90
        healthy = {
            name: _wait_healthy(f"http://127.0.0.1:{ports[name]}/healthz", deadline, apis[name])
            for name in SERVICE_NAMES
        }
        web_up = _wait_healthy(f"http://127.0.0.1:{web_port}/healthz", deadline, web)
        up = all(healthy.values()) and web_up
        print("\nCasehub is running" + ("" if up else " (some services failed!)"))
        print(
            f"  Open Casehub: http://127.0.0.1:{web_port}   "
            + ("(sign in as a demo person: one click)" if web_up else "(web app NOT ANSWERING)")
        )
        print(f"  data: {settings.data_dir}   broker: {without_password(settings.broker_url)}")
        print(f"  email: {email}")
        served = [f"{name} 127.0.0.1:{port}" for name, port in metrics_ports.items() if port]
        print(f"  workers' /metrics and /healthz: {', '.join(served) or 'none'}")
        for name in SERVICE_NAMES:
            state = "up" if healthy[name] else "NOT ANSWERING"
            print(f"  {name:<14} http://127.0.0.1:{ports[name]}/docs   ({state})")
        if up and not args.no_demo_data:
            up = _load_demo_data(settings, ports)
        tokens_path, tokens = write_dev_tokens(settings)
        again = " ".join(["casehub dev --tokens", *_base_port_argument(args.base_port)])
        print("", *tokens, sep="\n")
        print(f"  (also in {tokens_path}; `.venv/bin/{again}` prints them again)")
        if args.check:
            return 0 if up else 1
        print("\nCtrl-C stops everything.", flush=True)
        running = True
        while not interrupted and all(child.poll() is None for child in children):
            time.sleep(0.2)
        if not interrupted:
            print("a service process exited; stopping the others", file=sys.stderr)
            return 1
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        for stop_signal in (signal.SIGINT, signal.SIGTERM):  # a second one must not cut it short
            signal.signal(stop_signal, signal.SIG_IGN)
        sys.stdout.flush()
        _stop(children)
        if catcher is not None:
            catcher.stop()
        lock.close()
