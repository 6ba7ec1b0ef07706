"""Database and broker set-up commands: migrate, revision, reporting rebuild, topology."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from services.catalog import load_frontend, runtime_for
from shared.config import LOOPBACK_HOST, SERVICE_NAMES, Settings
from shared.logging import configure_logging


def migrate_web(check: bool, wait: float) -> int:
    """The web app keeps sessions only: its tables, created if missing (``--check``: present)."""
    frontend = load_frontend("web")
    settings = frontend.load_settings(LOOPBACK_HOST)
    if not check:
        frontend.migrate(settings)
        print("web: database at head")
        return 0
    deadline = time.monotonic() + wait
    while not frontend.migrated(settings):
        if time.monotonic() >= deadline:
            print("web: the sessions table is missing (run `casehub migrate web`)", file=sys.stderr)
            return 1
        time.sleep(2)
    print("web: database at head")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    if args.service == "web":
        return migrate_web(args.check, args.wait)
    names = SERVICE_NAMES if args.service == "all" else (args.service,)
    if args.check:
        return _check_migrated(names, args.wait)
    for name in names:
        runtime_for(name).migrate()
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
            runtime = runtime_for(name)
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

    spec = runtime_for(args.service).spec
    assert spec.migrations is not None
    autogenerate(spec.migrations, args.message)
    return 0


def cmd_reporting(args: argparse.Namespace) -> int:
    """Empty the reporting read model and replay its event archive into it (the service's
    ``rebuild`` maintenance command; a running worker goes on with no gap, no double count)."""
    runtime = runtime_for("reporting")
    configure_logging("reporting", runtime.settings.log_level)
    if not args.no_migrate:
        runtime.migrate()
    try:
        print(runtime.spec.maintenance["rebuild"](runtime))
    except (LookupError, ConnectionError, OSError) as error:
        # The archive could not be marked: nothing was dropped (the drop rolled back).
        print(f"casehub reporting rebuild: {error}", file=sys.stderr)
        return 1
    return 0


def cmd_topology(args: argparse.Namespace) -> int:
    """Print the broker topology every process declares, as a RabbitMQ definitions file."""
    from services.catalog import platform_topology
    from shared.messaging.topology import rabbitmq_definitions

    print(json.dumps(rabbitmq_definitions(platform_topology(Settings.from_env("cli"))), indent=2))
    return 0
