"""The ``casehub`` command: run APIs and workers, migrate, mint dev tokens, operate the DLQ."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

from services.catalog import runtime_for
from shared.config import (
    ALLOW_PRIVATE_WEBHOOKS_VARIABLE,
    LOOPBACK_HOST,
    SERVICE_NAMES,
    SERVICE_PORTS,
    Settings,
    without_password,
)
from shared.logging import configure_logging
from shared.service import ServiceRuntime


def _runtime(service: str) -> ServiceRuntime:
    return runtime_for(service)


def _prepared_runtime(args: argparse.Namespace) -> ServiceRuntime:
    """The service's runtime with logging configured and, unless told not to, its schema at head."""
    runtime = _runtime(args.service)
    configure_logging(args.service, runtime.settings.log_level)
    if not args.no_migrate:
        runtime.migrate()
    return runtime


def cmd_migrate(args: argparse.Namespace) -> int:
    names = SERVICE_NAMES if args.service == "all" else (args.service,)
    for name in names:
        _runtime(name).migrate()
        print(f"{name}: database at head")
    return 0


def cmd_revision(args: argparse.Namespace) -> int:
    from shared.migrations import autogenerate

    spec = _runtime(args.service).spec
    assert spec.migrations is not None
    autogenerate(spec.migrations, args.message)
    return 0


def cmd_topology(args: argparse.Namespace) -> int:
    """Print the broker topology every process declares, as a RabbitMQ definitions file."""
    from services.catalog import platform_topology
    from shared.messaging.topology import rabbitmq_definitions

    print(json.dumps(rabbitmq_definitions(platform_topology(Settings.from_env("cli"))), indent=2))
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    from gunicorn.app.base import BaseApplication

    problem = Settings.from_env(args.service).token_secret_problem(args.host)
    if problem:
        print(f"casehub api {args.service}: refusing to start. {problem}", file=sys.stderr)
        return 2
    _prepared_runtime(args)
    port = args.port or SERVICE_PORTS[args.service]
    options = {
        "bind": f"{args.host}:{port}",
        "workers": args.workers or min((os.cpu_count() or 1) * 2 + 1, 8),
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
            return _runtime(args.service).create_app()

    CasehubApi().run()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from shared.worker import run_worker

    run_worker(_prepared_runtime(args))
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


def _stop(children: Sequence[subprocess.Popen[bytes]], grace: float = 40) -> int:
    """SIGTERM every child, wait for all of them, SIGKILL what is still running after ``grace``."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    exit_code = 0
    for child in children:
        try:
            returncode = child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
            returncode = child.wait()
        exit_code = exit_code or (returncode if returncode > 0 else 0)
    return exit_code


def cmd_dev(args: argparse.Namespace) -> int:
    """All four services and their workers on this machine, embedded default unless configured."""
    from services.mailcatcher import start_mail_catcher
    from shared.web.auth import ROLES, mint_token

    ports = {name: args.base_port + offset for offset, name in enumerate(SERVICE_NAMES)}
    taken = _ports_in_use(list(ports.values()))
    if taken:
        print(
            f"port(s) {', '.join(map(str, taken))} already in use on 127.0.0.1 (is another "
            "casehub dev running?): stop it, or choose other ports with --base-port",
            file=sys.stderr,
        )
        return 1
    for name in SERVICE_NAMES:
        _runtime(name).migrate()
    settings = Settings.from_env("dev")
    mail_folder = settings.data_dir / "mail"
    catcher = start_mail_catcher(
        mail_folder, int(os.environ.get("NOTIFICATIONS_SMTP_PORT", "1025"))
    )
    command = [sys.executable, "-m", "services.cli"]
    environment = {
        "CASEHUB_APP_URL": f"http://127.0.0.1:{ports['notifications']}",
        # Everything listens on loopback here: webhooks may reach a receiver on this machine.
        **({ALLOW_PRIVATE_WEBHOOKS_VARIABLE: "1"} if settings.is_embedded_default else {}),
        **os.environ,
    }
    apis: dict[str, subprocess.Popen[bytes]] = {}
    children: list[subprocess.Popen[bytes]] = []
    interrupted = False

    def interrupt(*_: object) -> None:
        nonlocal interrupted
        interrupted = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    try:
        for name in SERVICE_NAMES:
            children.append(
                subprocess.Popen([*command, "worker", name, "--no-migrate"], env=environment)
            )
            apis[name] = subprocess.Popen(
                [
                    *command,
                    "api",
                    name,
                    "--no-migrate",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(ports[name]),
                    "--workers",
                    str(args.workers),
                ],
                env=environment,
            )
            children.append(apis[name])
        deadline = time.monotonic() + 90
        healthy = {
            name: _wait_healthy(f"http://127.0.0.1:{ports[name]}/healthz", deadline, apis[name])
            for name in SERVICE_NAMES
        }
        up = all(healthy.values())
        print("\nCasehub is running" + ("" if up else " (some services failed!)"))
        print(f"  data: {settings.data_dir}   broker: {without_password(settings.broker_url)}")
        if catcher is not None:
            print(f"  email: caught on 127.0.0.1:{catcher.port}, written to {mail_folder}")
        for name in SERVICE_NAMES:
            state = "up" if healthy[name] else "NOT ANSWERING"
            print(f"  {name:<14} http://127.0.0.1:{ports[name]}/docs   ({state})")
        if up and not args.no_demo_data:
            from services.demo import SUPERVISOR, TEAM, load_demo_data

            urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
            counts = load_demo_data(settings, urls=urls)
            print(
                f"  demo data: {counts['clients']} clients ({counts['assigned']} assigned, "
                f"{counts['high_risk']} high risk, {counts['discharged']} discharged); "
                f"supervisor {SUPERVISOR}, case managers {', '.join(cm for cm, _ in TEAM)}"
            )
        print("\nDevelopment tokens (valid 12 hours):")
        demo_people = {
            "intake_worker": "iw-demo",
            "case_manager": "cm-ana",
            "supervisor": "sup-maria",
            "admin": "admin-demo",
            "partner": "housing-first-staff",
            "on_call": "on-call-demo",
        }
        for role in ROLES:
            org = "housing-first" if role == "partner" else None
            token = mint_token(settings, demo_people[role], [role], org=org, ttl_seconds=12 * 3600)
            print(f"  {role:<14} ({demo_people[role]}) {token}")
        if args.check:
            return 0 if up else 1
        print("\nCtrl-C stops everything.", flush=True)
        while not interrupted and all(child.poll() is None for child in children):
            time.sleep(0.5)
        if not interrupted:
            print("a service process exited; stopping the others", file=sys.stderr)
            return 1
        return 0
    finally:
        sys.stdout.flush()
        _stop(children)
        if catcher is not None:
            catcher.stop()


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
    migrate.add_argument("service", choices=(*SERVICE_NAMES, "all"))
    revision = add("revision", cmd_revision, "write a service's next migration from its models")
    revision.add_argument("service", **service)
    revision.add_argument("-m", "--message", required=True)
    add("topology", cmd_topology, "print the RabbitMQ definitions (exchange, queues, bindings)")
    api = add("api", cmd_api, "serve a service's HTTP API with gunicorn")
    api.add_argument("service", **service)
    api.add_argument(
        "--host",
        default=LOOPBACK_HOST,
        help="address to listen on (default: this machine only); any other address needs "
        "CASEHUB_JWT_SECRET of 32+ bytes or CASEHUB_JWT_PUBLIC_KEY",
    )
    api.add_argument("--port", type=int)
    api.add_argument("--workers", type=int)
    api.add_argument("--threads", type=int, default=4)
    api.add_argument("--no-migrate", action="store_true")
    worker = add("worker", cmd_worker, "run a service's outbox relay and event consumers")
    worker.add_argument("service", **service)
    worker.add_argument("--no-migrate", action="store_true")
    token = add("token", cmd_token, "mint a development JWT")
    token.add_argument("--sub", required=True)
    token.add_argument("--role", action="append", required=True)
    token.add_argument("--org")
    token.add_argument("--ttl", type=int, default=3600)
    dlq = add("dlq", cmd_dlq, "list, show or replay a service's dead-lettered events")
    dlq.add_argument("action", choices=("list", "show", "replay"))
    dlq.add_argument("service", **service)
    dlq.add_argument("event_ids", nargs="*")
    dlq.add_argument("--all", action="store_true", help="replay every dead letter")
    dev = add("dev", cmd_dev, "run all four services and workers on this machine")
    dev.add_argument("--workers", type=int, default=1)
    dev.add_argument("--check", action="store_true", help="start, check /healthz, then stop")
    dev.add_argument("--no-demo-data", action="store_true", help="start empty")
    dev.add_argument(
        "--base-port",
        type=int,
        default=SERVICE_PORTS[SERVICE_NAMES[0]],
        help="intake's port; planning, referrals and notifications take the next three",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
