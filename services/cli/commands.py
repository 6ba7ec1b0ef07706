"""The ``casehub`` command: run APIs and workers, migrate, mint dev tokens, operate the DLQ."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence

from services.cli import governance
from services.cli.archive import cmd_archive
from services.cli.database import cmd_migrate, cmd_reporting, cmd_revision, cmd_topology
from services.cli.dead_letters import cmd_dlq
from services.cli.dev import DEV_BASE_PORT, cmd_dev
from services.cli.serve import cmd_api, cmd_token, cmd_worker
from shared.config import (
    LOOPBACK_HOST,
    SERVICE_NAMES,
)


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
    api.add_argument(
        "--timeout",
        type=int,
        default=30,
        help="seconds a request may run before gunicorn restarts its worker (default 30; "
        "reporting's manifests give 120 for reports over every team)",
    )
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
        "reporting", cmd_reporting, "rebuild the reporting read model from the event archive"
    )
    reporting.add_argument("action", choices=("rebuild",))
    reporting.add_argument("--no-migrate", action="store_true")
    archive = add(
        "archive", cmd_archive, "export the event archive as JSON lines (backfill a new consumer)"
    )
    archive.add_argument("action", choices=("export",))
    archive.add_argument(
        "--from",
        dest="start",
        default="first",
        help="first (default), an offset, or an ISO 8601 time (events archived from then on)",
    )
    archive.add_argument("--type", help="only this event type (casehub.intake.case.assigned.v1)")
    archive.add_argument("--out", help="write the JSON lines here instead of stdout")
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
    governance.register(add)
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
