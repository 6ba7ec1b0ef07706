"""``casehub archive export``: the event archive as JSON lines, to backfill a new consumer (a
partner, a data warehouse) before it follows live events with its own cursor."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from typing import IO

from services.catalog import platform_topology
from shared.config import Settings
from shared.messaging.archive import open_archive, parse_start
from shared.messaging.broker import open_connection


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    if path in (None, "-"):
        yield sys.stdout
        return
    with open(path, "w", encoding="utf-8") as handle:
        yield handle


def cmd_archive(args: argparse.Namespace) -> int:
    """Every archived event from ``--from`` up to the archive's end when the export began, one
    JSON object a line: ``{"offset", "routing_key", "event"}`` (the CloudEvent as published).
    The last offset goes to stderr: the next export starts after it (``--from <offset + 1>``)."""
    try:
        start = parse_start(args.start)
    except ValueError as error:
        print(f"casehub archive: {error}", file=sys.stderr)
        return 2
    settings = Settings.from_env("cli")
    archive = open_archive(settings, platform_topology(settings), lambda: open_connection(settings))
    count, last = 0, None
    try:
        end = archive.end_mark()
    except (LookupError, ConnectionError, OSError) as error:
        print(f"casehub archive: {error}", file=sys.stderr)
        return 1
    with _output(args.out) as out:
        for message in archive.read(start, until=end):
            last = message.offset
            try:
                event = json.loads(message.body)
            except ValueError:
                continue
            if args.type and event.get("type") != args.type:
                continue
            record = {"offset": message.offset, "routing_key": message.routing_key, "event": event}
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
            count += 1
    print(f"casehub archive: exported {count} events, last offset {last}", file=sys.stderr)
    return 0
