"""The ``casehub`` command: run APIs and workers, migrate, mint dev tokens, operate the DLQ."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.catalog import runtime_for
from shared.config import (
    ALLOW_PRIVATE_WEBHOOKS_VARIABLE,
    LOOPBACK_HOST,
    SERVICE_NAMES,
    SERVICE_PORTS,
    WORKER_METRICS_PORTS,
    Settings,
    default_api_workers,
    default_data_dir,
    without_password,
)
from shared.logging import configure_logging
from shared.service import ServiceRuntime


def _runtime(service: str) -> ServiceRuntime:
    return runtime_for(service)


def _encryption_problem(
    service: str, settings: Settings, bind_host: str = LOOPBACK_HOST
) -> str | None:
    """Only a service that keeps encrypted clinical notes needs the keys to start."""
    from services.catalog import load_spec
    from shared.crypto import encrypted_columns

    if not encrypted_columns(load_spec(service).metadata):
        return None
    return settings.encryption_key_problem(bind_host)


def _prepared_runtime(args: argparse.Namespace) -> ServiceRuntime:
    """The service's runtime with logging configured and, unless told not to, its schema at head."""
    runtime = _runtime(args.service)
    configure_logging(args.service, runtime.settings.log_level)
    if not args.no_migrate:
        runtime.migrate()
    return runtime


def _migrate_web(check: bool, wait: float) -> int:
    """The web app keeps sessions only: one table, created if missing (``--check``: present)."""
    from services.web.config import WebSettings
    from services.web.sessions import session_table_present
    from shared.db import Database

    database = Database(WebSettings.from_env().database_url)
    if not check:
        from services.web.sessions import METADATA

        METADATA.create_all(database.engine)
        print("web: database at head")
        return 0
    deadline = time.monotonic() + wait
    while not session_table_present(database):
        if time.monotonic() >= deadline:
            print("web: the sessions table is missing (run `casehub migrate web`)", file=sys.stderr)
            return 1
        time.sleep(2)
    print("web: database at head")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    if args.service == "web":
        return _migrate_web(args.check, args.wait)
    names = SERVICE_NAMES if args.service == "all" else (args.service,)
    if args.check:
        return _check_migrated(names, args.wait)
    for name in names:
        _runtime(name).migrate()
        print(f"{name}: database at head")
    return 0


def _check_migrated(names: Sequence[str], wait: float) -> int:
    """Exit 0 once every database is at its head revision (the migration Job of this release
    has run), 1 if it is not within ``wait`` seconds: an API's init container runs this, so the
    API never starts against an older schema. Changes nothing."""
    from shared.migrations import schema_revisions

    deadline = time.monotonic() + wait
    while True:
        behind: list[str] = []
        for name in names:
            runtime = _runtime(name)
            if runtime.spec.migrations is None:
                continue
            try:
                current, heads = schema_revisions(runtime.spec.migrations, runtime.database.url)
            except Exception as error:  # the database is not up yet: wait for it too
                behind.append(f"{name}: database unreachable ({type(error).__name__})")
                continue
            if current != heads:
                have = ", ".join(sorted(current)) or "empty"
                behind.append(f"{name}: at {have}, release needs {', '.join(sorted(heads))}")
        if not behind:
            for name in names:
                print(f"{name}: database at head")
            return 0
        if time.monotonic() >= deadline:
            for line in behind:
                print(line, file=sys.stderr)
            return 1
        time.sleep(min(2.0, max(deadline - time.monotonic(), 0.1)))


def cmd_revision(args: argparse.Namespace) -> int:
    from shared.migrations import autogenerate

    spec = _runtime(args.service).spec
    assert spec.migrations is not None
    autogenerate(spec.migrations, args.message)
    return 0


def cmd_reporting(args: argparse.Namespace) -> int:
    """Empty the reporting read model and replay its event archive into it, in one transaction
    (a running worker waits, then goes on projecting: no gap, no double count)."""
    from services.reporting.operations.rebuild import rebuild

    runtime = _runtime("reporting")
    configure_logging("reporting", runtime.settings.log_level)
    if not args.no_migrate:
        runtime.migrate()
    result = rebuild(runtime.database)
    print(f"reporting: replayed {result.events} archived events into {result.projected} rows")
    return 0


def cmd_topology(args: argparse.Namespace) -> int:
    """Print the broker topology every process declares, as a RabbitMQ definitions file."""
    from services.catalog import platform_topology
    from shared.messaging.topology import rabbitmq_definitions

    print(json.dumps(rabbitmq_definitions(platform_topology(Settings.from_env("cli"))), indent=2))
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from gunicorn.app.base import BaseApplication

    from shared import metrics
    from shared.web.hardening import hide_server_header

    load_app: Callable[[], Any]
    if args.service == "web":  # the browser app: sessions only, no events
        from services.web.app import create_app
        from services.web.config import WEB_PORT, WebSettings

        web_settings = WebSettings.from_env(bind_host=args.host)
        settings = web_settings.platform
        problem = web_settings.startup_problem()
        if problem:
            print(f"casehub api web: refusing to start: {problem}", file=sys.stderr)
            return 2
        configure_logging("web", settings.log_level)
        if not args.no_migrate:
            _migrate_web(check=False, wait=0)
        port = args.port or WEB_PORT
        scrape_hooks: list[Callable[[], None]] = []

        def load_app() -> Any:
            return create_app(web_settings)

    else:
        settings = Settings.from_env(args.service)
        problem = settings.token_secret_problem(args.host) or _encryption_problem(
            args.service, settings, args.host
        )
        if problem:
            print(f"casehub api {args.service}: refusing to start. {problem}", file=sys.stderr)
            return 2
        runtime = _prepared_runtime(args)
        port = args.port or SERVICE_PORTS[args.service]
        scrape_hooks = runtime.scrape_hooks()

        def load_app() -> Any:
            return _runtime(args.service).create_app()

    metrics_port = args.metrics_port if args.metrics_port is not None else settings.metrics_port
    if metrics_port is not None:
        os.environ["CASEHUB_METRICS_PORT"] = str(metrics_port)  # the workers' apps read it
    # Every gunicorn worker writes its metrics to files here, so one scrape sums them all.
    configured = os.environ.get(metrics.MULTIPROC_VARIABLE)
    folder = Path(configured or tempfile.mkdtemp(prefix=f"casehub-{args.service}-metrics-"))
    metrics.use_multiprocess_dir(folder)
    metrics_server: list[metrics.MetricsServer] = []

    def when_ready(_server: Any) -> None:
        if metrics_port is not None:
            metrics_server.append(
                metrics.MetricsServer(args.host, metrics_port, hooks=scrape_hooks).start()
            )

    def child_exit(_server: Any, worker: Any) -> None:
        metrics.process_exited(worker.pid)

    options = {
        "bind": f"{args.host}:{port}",
        "workers": args.workers or default_api_workers(),
        "when_ready": when_ready,
        "child_exit": child_exit,
        "worker_class": "gthread",
        "threads": args.threads,
        "timeout": 30,
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }

    class CasehubApi(BaseApplication):  # type: ignore[misc]
        """gunicorn loads the app in each worker after the fork: no shared sockets."""

        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return load_app()

    hide_server_header()
    master = os.getpid()
    try:
        CasehubApi().run()
    finally:
        # gunicorn's workers leave through here too (SystemExit after the fork): only the
        # master owns the metrics server and the folder.
        if os.getpid() == master:
            for server in metrics_server:
                server.stop()
            if not configured:
                metrics.remove_multiprocess_dir(folder)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from shared import metrics
    from shared.worker import run_worker

    metrics.use_single_process()
    problem = _encryption_problem(args.service, Settings.from_env(args.service))
    if problem:
        print(f"casehub worker {args.service}: refusing to start. {problem}", file=sys.stderr)
        return 2
    run_worker(_prepared_runtime(args), metrics_port=args.metrics_port)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from shared.web.auth import mint_token

    settings = Settings.from_env("cli")
    print(mint_token(settings, args.sub, args.role, org=args.org, ttl_seconds=args.ttl))
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    from shared.messaging.dlq import DeadLetterQueue

    runtime = _runtime(args.service)
    connection = runtime.connect_broker()
    try:
        queue = DeadLetterQueue(
            connection,
            runtime.topology,
            args.service,
            confirm_timeout=runtime.settings.confirm_timeout,
        )
        if args.action == "list":
            letters = queue.list()
            for letter in letters:
                print(json.dumps(letter.summary()))
            print(
                f"{len(letters)} dead-lettered event(s) in {runtime.topology.dlq_name(args.service)}"
            )
            return 0
        if args.action == "show":
            if not args.event_ids:
                print("dlq show needs an event id", file=sys.stderr)
                return 2
            letter = queue.show(args.event_ids[0])
            if letter is None:
                print(f"no dead letter with id {args.event_ids[0]}", file=sys.stderr)
                return 1
            print(json.dumps({**letter.summary(), "envelope": letter.envelope}, indent=2))
            return 0
        if args.action == "discard":
            return _discard_dead_letter(runtime, queue, args)
        if not args.event_ids and not args.all:
            print("dlq replay needs event ids or --all", file=sys.stderr)
            return 2
        replayed = queue.replay(None if args.all else args.event_ids)
        for event_id in replayed:
            print(f"replayed {event_id}")
        missing = set(args.event_ids) - set(replayed)
        for event_id in sorted(missing):
            print(f"not found: {event_id}", file=sys.stderr)
        print(f"{len(replayed)} event(s) replayed to {runtime.topology.queue_name(args.service)}")
        return 1 if missing else 0
    finally:
        connection.release()


def _discard_dead_letter(runtime: ServiceRuntime, queue: Any, args: argparse.Namespace) -> int:
    """Remove one letter that can never succeed: who, why and what go to the service's audit
    trail and the letter is counted (casehub_dead_letters_discarded_total)."""
    from sqlalchemy import MetaData

    from shared import metrics
    from shared.audit import AuditTrail
    from shared.identity import Principal

    reason = (args.reason or "").strip()
    if len(args.event_ids) != 1 or not reason:
        print("dlq discard needs one letter id and --reason '...'", file=sys.stderr)
        return 2
    letter = queue.discard(args.event_ids[0])
    if letter is None:
        print(f"no dead letter with id {args.event_ids[0]}", file=sys.stderr)
        return 1
    subject = letter.subject if letter.subject.startswith("client/") else ""
    client_id = subject.removeprefix("client/")[:36] or None
    operator = Principal(sub=args.actor[:128], roles=frozenset({"operator"}))
    with runtime.database.session() as session, session.begin():
        AuditTrail(MetaData()).record(
            session,
            operator,
            "dlq.discard",
            "dead_letter",
            letter.event_id if len(letter.event_id) <= 36 else None,
            client_id,
            letter_id=letter.event_id,
            event_type=letter.event_type,
            queue=runtime.topology.dlq_name(args.service),
            reason=reason[:500],
        )
    metrics.DEAD_LETTERS_DISCARDED.labels(args.service, letter.event_type).inc()
    print(json.dumps({"discarded": letter.summary(), "reason": reason}))
    return 0


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


def _ports_in_use(ports: Sequence[int]) -> list[int]:
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
    taken = _ports_in_use([web_port, *ports.values(), *([] if smtp_host else [mail_port])])
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
        _runtime(name).migrate()
    _migrate_web(check=False, wait=0)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="casehub", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    service = {"choices": SERVICE_NAMES}

    def add(
        name: str, handler: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help)
        sub.set_defaults(handler=handler)
        return sub

    migrate = add("migrate", cmd_migrate, "upgrade a service's database to the latest migration")
    migrate.add_argument("service", choices=(*SERVICE_NAMES, "web", "all"))
    migrate.add_argument(
        "--check",
        action="store_true",
        help="change nothing: exit 0 if the database is at this release's head revision, else 1",
    )
    migrate.add_argument(
        "--wait", type=float, default=0, help="with --check: seconds to wait for the migration"
    )
    revision = add("revision", cmd_revision, "write a service's next migration from its models")
    revision.add_argument("service", **service)
    revision.add_argument("-m", "--message", required=True)
    add("topology", cmd_topology, "print the RabbitMQ definitions (exchange, queues, bindings)")
    api = add("api", cmd_api, "serve a service's HTTP API (or the web app) with gunicorn")
    api.add_argument("service", choices=(*SERVICE_NAMES, "web"))
    api.add_argument(
        "--host",
        default=LOOPBACK_HOST,
        help="address to listen on (default: this machine only); any other address needs "
        "CASEHUB_JWT_SECRET of 32+ bytes or CASEHUB_JWT_PUBLIC_KEY",
    )
    api.add_argument("--port", type=int)
    api.add_argument(
        "--workers",
        type=int,
        help="gunicorn workers (default CASEHUB_API_WORKERS, else 2 per CPU of the container's "
        "quota + 1, at most 8)",
    )
    api.add_argument("--threads", type=int, default=4)
    api.add_argument("--no-migrate", action="store_true")
    api.add_argument(
        "--metrics-port",
        type=int,
        help="serve /metrics there, summed over every worker, and not on the API's port "
        "(default CASEHUB_METRICS_PORT)",
    )
    worker = add("worker", cmd_worker, "run a service's outbox relay and event consumers")
    worker.add_argument("service", **service)
    worker.add_argument("--no-migrate", action="store_true")
    worker.add_argument(
        "--metrics-port",
        type=int,
        help="/metrics, /healthz and /readyz (default CASEHUB_METRICS_PORT, else 9101 for "
        "intake, 9102 planning, …; 0 for none)",
    )
    reporting = add(
        "reporting", cmd_reporting, "rebuild the reporting read model from its event archive"
    )
    reporting.add_argument("action", choices=("rebuild",))
    reporting.add_argument("--no-migrate", action="store_true")
    token = add("token", cmd_token, "mint a development JWT")
    token.add_argument("--sub", required=True)
    token.add_argument("--role", action="append", required=True)
    token.add_argument("--org")
    token.add_argument("--ttl", type=int, default=3600)
    dlq = add("dlq", cmd_dlq, "list, show, replay or discard a service's dead-lettered events")
    dlq.add_argument("action", choices=("list", "show", "replay", "discard"))
    dlq.add_argument("service", **service)
    dlq.add_argument("event_ids", nargs="*")
    dlq.add_argument("--all", action="store_true", help="replay every dead letter")
    dlq.add_argument("--reason", help="discard: why the letter can never succeed (audited)")
    dlq.add_argument(
        "--actor",
        default=os.environ.get("USER") or "operator",
        help="discard: who is discarding, for the audit trail (default: $USER)",
    )
    from services import governance_cli

    governance_cli.register(add)
    dev = add("dev", cmd_dev, "run every service and its worker on this machine")
    dev.add_argument("--workers", type=int, default=1, help="gunicorn workers per API")
    dev.add_argument("--check", action="store_true", help="start, check /healthz, then stop")
    dev.add_argument("--no-demo-data", action="store_true", help="start empty")
    dev.add_argument(
        "--tokens",
        action="store_true",
        help="print the development tokens of the running casehub dev again (same --base-port)",
    )
    dev.add_argument(
        "--base-port",
        type=int,
        default=DEV_BASE_PORT,
        help="intake's port; planning, referrals, notifications and reporting take the next four, the "
        "mail catcher moves from 1025 as far (and, unless CASEHUB_DATA_DIR is set, data goes to "
        "its own folder)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
