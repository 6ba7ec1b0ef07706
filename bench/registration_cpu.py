"""CPU a request costs inside one process, PostgreSQL's own work left out: the API bench says how
fast, this says where a request's CPU goes and how many round trips it makes, without gunicorn
or the load generator sharing the cores.

python -m bench.registration_cpu                      # 200 POST /clients on 5,000 seeded clients
python -m bench.registration_cpu --requests 500 --profile 25
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import time
from collections import Counter

from sqlalchemy import event

from bench.api import new_client, seed
from bench.environment import Stack
from services.catalog import runtime_for
from shared.web import mint_token

PARTS = (
    ("/sqlalchemy/", "SQLAlchemy"),
    ("/psycopg/", "psycopg"),
    ("/flask/", "flask/werkzeug/smorest"),
    ("/werkzeug/", "flask/werkzeug/smorest"),
    ("/flask_smorest/", "flask/werkzeug/smorest"),
    ("/webargs/", "flask/werkzeug/smorest"),
    ("/marshmallow/", "marshmallow"),
    ("/jwt/", "json/jwt/crypto"),
    ("/json/", "json/jwt/crypto"),
    ("/cryptography/", "json/jwt/crypto"),
    ("/structlog/", "logging"),
    ("/logging/", "logging"),
    ("/services/", "our code"),
    ("/shared/", "our code"),
)


def part_of(filename: str) -> str:
    for marker, part in PARTS:
        if marker in filename:
            return part
    if filename.startswith("~") or "<" in filename:
        return "builtins"
    return "other stdlib"


def measure(requests: int, clients: int, profile_top: int, callees: str = "") -> None:
    with Stack(("intake",)) as stack:
        stack.databases["bare"] = stack._create_database("bare")
        stack.environment["BENCH_BARE_DATABASE_URL"] = stack.databases["bare"]
        stack.migrate("intake")
        seed(stack, clients)
        runtime = runtime_for("intake", stack.settings("intake"))
        http = runtime.create_app().test_client()
        token = mint_token(runtime.settings, "iw-1", ["intake_worker"])
        headers = {"Authorization": f"Bearer {token}"}
        rng = random.Random(11)
        statements: Counter[int] = Counter()
        count = [0]

        def counted(*_: object) -> None:
            count[0] += 1

        event.listen(runtime.database.engine, "before_cursor_execute", counted)

        def post() -> None:
            method, path, body = new_client(0, rng)
            count[0] = 0
            response = http.open(path, method=method, json=body, headers=headers)
            assert response.status_code == 201, response.json
            statements[count[0]] += 1

        for _ in range(50):  # warm caches (statement cache, schemas, pool)
            post()
        statements.clear()
        cpu = time.process_time()
        wall = time.perf_counter()
        for _ in range(requests):
            post()
        cpu = (time.process_time() - cpu) / requests
        wall = (time.perf_counter() - wall) / requests
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(requests):
            post()
        profiler.disable()
        runtime.database.dispose()
    print(f"POST /clients: {requests} requests, {clients:,} clients seeded")
    print(f"  CPU per request (no profiler): {cpu * 1000:.2f} ms; wall {wall * 1000:.2f} ms")
    print(f"  SQL statements per request (BEGIN/COMMIT not counted): {dict(statements)}")
    stats = pstats.Stats(profiler)
    by_part: Counter[str] = Counter()
    total = 0.0
    for (filename, _line, _name), (_cc, _nc, self_time, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_part[part_of(filename)] += self_time
        total += self_time
    print(f"  profiled CPU per request: {total / requests * 1000:.2f} ms; self time by part:")
    for part, seconds in by_part.most_common():
        print(f"    {seconds / total * 100:5.1f}% {part}")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(profile_top)
    print(out.getvalue())
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(
        r"/(services|shared)/|flush|commit|dump|_serialize|load", profile_top
    )
    print(out.getvalue())
    if callees:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_callees(callees)
        print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=5_000)
    parser.add_argument("--profile", type=int, default=25, help="top functions by self time")
    parser.add_argument("--callees", default="", help="also list what functions matching this call")
    args = parser.parse_args()
    measure(args.requests, args.clients, args.profile, args.callees)


if __name__ == "__main__":
    main()
