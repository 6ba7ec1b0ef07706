"""CPU and round trips of one intake request, in process (the test client): what a request
costs when the machine is too loaded for throughput figures to mean much, and where it goes.

python -m bench.request_cpu [--endpoint caseload|register] [--requests 300] [--clients 5000]

Round trips are counted at the driver: statements SQLAlchemy sends, the pool's pings and the
COMMITs / ROLLBACKs that reach the server. CPU is cProfile with ``time.process_time`` (waiting
for PostgreSQL is not counted), grouped by where the self time is spent."""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.api import new_client, read_caseload, seed
from bench.environment import Stack
from services.catalog import runtime_for
from shared.web import mint_token

ROOT = str(Path(__file__).resolve().parent.parent)
PARTS = (
    ("sqlalchemy/", "SQLAlchemy"),
    ("psycopg", "psycopg"),
    ("flask/", "flask/werkzeug/smorest"),
    ("werkzeug/", "flask/werkzeug/smorest"),
    ("flask_smorest/", "flask/werkzeug/smorest"),
    ("webargs/", "flask/werkzeug/smorest"),
    ("marshmallow/", "marshmallow"),
    ("jwt/", "json/jwt/crypto"),
    ("/json/", "json/jwt/crypto"),
    ("cryptography/", "json/jwt/crypto"),
    ("logging/", "logging"),
    ("structlog/", "logging"),
)


def _part(filename: str) -> str:
    """Which part of the stack a function's self time belongs to."""
    if filename.startswith(("~", "<")):
        return "builtins"
    if filename.startswith(ROOT) and "site-packages" not in filename:
        return "our code"
    for marker, part in PARTS:
        if marker in filename:
            return part
    return "other libraries and stdlib"


class RoundTrips:
    """Counts what goes to the server: statements, pings, commits and rollbacks."""

    def __init__(self, engine: Any) -> None:
        self.counts: Counter[str] = Counter()
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", lambda *_: self.counts.update(["COMMIT"]))
        event.listen(engine, "rollback", lambda *_: self.counts.update(["ROLLBACK"]))
        dialect = engine.dialect
        ping = dialect.do_ping

        def counted_ping(connection: Any) -> bool:
            self.counts["ping"] += 1
            return ping(connection)

        dialect.do_ping = counted_ping  # type: ignore[method-assign]

    def _begin(self, connection: Any) -> None:
        """psycopg sends BEGIN, a round trip of its own, before a transaction's first statement;
        a connection in autocommit sends none."""
        if connection.connection.dbapi_connection.autocommit:
            self.counts["no BEGIN (autocommit)"] += 1
        else:
            self.counts["BEGIN"] += 1

    def _statement(self, *_: object) -> None:
        self.counts["statement"] += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", choices=("caseload", "register"), default="caseload")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--save", help="write the cProfile stats to this file")
    options = parser.parse_args()
    with Stack(("intake",)) as stack:
        stack.databases["bare"] = stack._create_database("bare")
        stack.migrate("intake")
        managers = seed(stack, options.clients)
        runtime = runtime_for("intake", stack.settings("intake"))
        http = runtime.create_app().test_client()
        rng = random.Random(3)
        if options.endpoint == "caseload":
            who, expected = ("admin-1", ["admin"]), 200
            calls = [read_caseload(managers, n, rng) for n in range(options.requests + 51)]
        else:
            who, expected = ("iw-1", ["intake_worker"]), 201
            calls = [new_client(n, rng) for n in range(2 * options.requests + 51)]
        headers = {"Authorization": f"Bearer {mint_token(runtime.settings, *who)}"}
        pending = iter(calls)

        def request() -> None:
            method, path, body = next(pending)
            response = http.open(path, method=method, json=body, headers=headers)
            assert response.status_code == expected, response.json

        for _ in range(50):  # warm caches, the pool and the statement cache
            request()
        trips = RoundTrips(runtime.database.engine)
        request()
        print(f"round trips of one {options.endpoint} request:", dict(trips.counts))
        if options.endpoint == "caseload":  # reads repeat; registrations must be new people
            pending = iter(calls[51:])
        started = time.process_time()
        for _ in range(options.requests):
            request()
        plain = (time.process_time() - started) / options.requests
        print(
            f"CPU a request, not profiled: {plain * 1000:.2f} ms (client and server, one process)"
        )
        if options.endpoint == "caseload":
            pending = iter(calls[51:])
        profiler = cProfile.Profile(time.process_time)
        started = time.process_time()
        profiler.enable()
        for _ in range(options.requests):
            request()
        profiler.disable()
        cpu = (time.process_time() - started) / options.requests
        stats = pstats.Stats(profiler)
        if options.save:
            stats.dump_stats(options.save)
        by_part: Counter[str] = Counter()
        total = 0.0
        for (filename, _line, _name), (_cc, _nc, self_time, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
            by_part[_part(filename)] += self_time
            total += self_time
        print(f"CPU a request: {cpu * 1000:.2f} ms ({options.requests} requests, profiled)")
        for part, seconds in by_part.most_common():
            print(f"  {100 * seconds / total:5.1f}% {part}")
        stats.sort_stats("tottime").print_stats(options.top)
        runtime.database.dispose()


if __name__ == "__main__":
    main()
