"""API throughput: intake's POST /clients and GET caseload under gunicorn, against a bare Flask +
SQLAlchemy app doing one insert or one select, served the same way, driven by the same load."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import create_engine, event, insert

from bench import bare_app
from bench.environment import PeakMemory, Stack, children, cpu_of, local_postgres, resident_mb
from bench.load import LoadResult, random_name, run_load
from bench.profiling import Sampler
from bench.report import Outcome, add_memory, until_baselines_are_usual
from bench.usual import usual_rate
from services.catalog import runtime_for
from services.intake import domain
from services.intake.models import CaseManager, Client, Episode
from shared.web import mint_token

CLIENTS_PER_MANAGER = 50
#: Load on each endpoint, for ours and for the bare app alike, before its throughput is measured.
WARM_UP_SECONDS = 8.0


def new_client(_n: int, rng: random.Random) -> tuple[str, str, Any]:
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(20_000))
    body = {
        "given_name": random_name(rng),
        "family_name": random_name(rng),
        "date_of_birth": born.isoformat(),
    }
    return "POST", "/clients", body


def read_caseload(managers: int, _n: int, rng: random.Random) -> tuple[str, str, Any]:
    return "GET", f"/case-managers/cm-{rng.randrange(managers)}/caseload", None


def seed(stack: Stack, clients: int) -> int:
    """``clients`` clients spread over case managers (50 each), in both databases."""
    managers = max(1, clients // CLIENTS_PER_MANAGER)
    rng = random.Random(7)
    now = datetime.now(UTC)
    client_rows, episode_rows, bare_rows = [], [], []
    for n in range(clients):
        manager = f"cm-{n % managers}"
        given, family = random_name(rng), random_name(rng)
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(20_000))
        client_id = str(uuid.uuid4())
        client_rows.append(
            {
                "id": client_id,
                "reference": f"B-{n}",
                "given_name": given,
                "family_name": family,
                "date_of_birth": born,
                "person_key": domain.person_key(given, family, born),
                "case_manager_id": manager,
                "registered_by": "seed",
                "contact": {},
            }
        )
        episode_rows.append(
            {
                "id": str(uuid.uuid4()),
                "client_id": client_id,
                "number": 1,
                "case_manager_id": manager,
                "next_review_due": (now + timedelta(days=rng.randrange(90))).date(),
            }
        )
        bare_rows.append(
            {
                "id": client_id,
                "given_name": given,
                "family_name": family,
                "date_of_birth": born,
                "case_manager_id": manager,
                "created_at": now,
            }
        )
    intake = create_engine(stack.databases["intake"])
    with intake.begin() as connection:
        connection.execute(
            insert(CaseManager.__table__),
            [
                {
                    "id": f"cm-{m}",
                    "display_name": f"Case manager {m}",
                    "team": "north",
                    "supervisor_id": "sup-1",
                    "caseload_cap": CLIENTS_PER_MANAGER,
                    "active": True,
                }
                for m in range(managers)
            ],
        )
        for first in range(0, clients, 5000):
            connection.execute(insert(Client.__table__), client_rows[first : first + 5000])
            connection.execute(insert(Episode.__table__), episode_rows[first : first + 5000])
    with intake.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")  # planner statistics, as a live database has
    intake.dispose()
    bare = create_engine(stack.databases["bare"])
    bare_app.METADATA.create_all(bare)
    with bare.begin() as connection:
        for first in range(0, clients, 5000):
            connection.execute(insert(bare_app.CLIENTS), bare_rows[first : first + 5000])
    with bare.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")
    bare.dispose()
    return managers


class ServerCpu:
    """CPU the servers spent on one load run, per request: the API's gunicorn workers and the
    PostgreSQL processes on this machine (a backend started during the run counts from zero).
    The load generator shares the cores, so a throughput ratio leans toward 1 where it is the
    bottleneck; CPU a request is what a request costs the servers wherever they run."""

    def __init__(self, workers: Any) -> None:
        """Reads where the servers' CPU stands: create it right before the run."""
        self._workers = workers
        self._api = cpu_of(workers())
        self._database = cpu_of(local_postgres())
        self.api_ms = self.database_ms = 0.0

    def measured(self, requests: int) -> ServerCpu:
        """Call right after the run of ``requests`` requests."""
        api, database = cpu_of(self._workers()), cpu_of(local_postgres())
        spent_api = sum(used - self._api.get(pid, 0.0) for pid, used in api.items())
        spent_db = sum(used - self._database.get(pid, 0.0) for pid, used in database.items())
        self.api_ms = 1000 * spent_api / max(requests, 1)
        self.database_ms = 1000 * spent_db / max(requests, 1)
        return self


def statements_per_request(stack: Stack, managers: int) -> dict[str, int]:
    """SQL statements one request runs, counted in-process with the same app (the profile says
    where time goes; this says why: round trips)."""
    runtime = runtime_for("intake", stack.settings("intake"))
    http = runtime.create_app().test_client()
    settings = runtime.settings
    count = [0]

    def counted(*_: object) -> None:
        count[0] += 1

    event.listen(runtime.database.engine, "before_cursor_execute", counted)
    found = {}
    for name, (method, path, body), who in (
        ("POST /clients", new_client(0, random.Random(99)), ("iw-1", "intake_worker")),
        ("GET caseload", read_caseload(managers, 0, random.Random(1)), ("admin-1", "admin")),
    ):
        token = mint_token(settings, who[0], [who[1]])
        count[0] = 0
        response = http.open(
            path, method=method, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code < 400, response.json
        found[name] = count[0]
    runtime.database.dispose()
    return found


def run_api(
    clients: int, seconds: float, profile: bool = True, *, judge_baselines: bool = False
) -> list[Outcome]:
    """``judge_baselines``: a bare baseline far below its usual rate (``bench.usual``) has the pair
    measured again, and if it stays low its row says it is not a result (full-size runs)."""
    outcome = Outcome("API throughput")
    memory = Outcome("memory")
    with Stack(("intake",)) as stack:
        stack.databases["bare"] = stack._create_database("bare")
        stack.environment["BENCH_BARE_DATABASE_URL"] = stack.databases["bare"]
        stack.migrate("intake")
        managers = seed(stack, clients)
        statements = statements_per_request(stack, managers)
        ours_process, ours = stack.start_api("intake", workers=2)
        bare_process, bare = stack.start_gunicorn("bench.bare_app:create_app()", workers=2)
        settings = stack.settings("intake")
        writer = {"Authorization": f"Bearer {mint_token(settings, 'iw-1', ['intake_worker'])}"}
        admin = {"Authorization": f"Bearer {mint_token(settings, 'admin-1', ['admin'])}"}
        caseload = partial(read_caseload, managers)
        workers = partial(children, ours_process.pid)
        idle = max(resident_mb(pid) for pid in workers())
        results: dict[str, tuple[LoadResult, LoadResult]] = {}
        profiles: dict[str, str] = {}
        peaks: list[float] = []
        cpu: dict[str, tuple[ServerCpu, ServerCpu]] = {}
        for name, maker, headers in (
            ("POST /clients", new_client, writer),
            ("GET caseload", caseload, admin),
        ):

            def side_by_side(
                maker: Any = maker,
                headers: dict[str, str] = headers,
                baseline_name: str = f"bare {name}",
                endpoint: str = name,
            ) -> tuple[tuple[LoadResult, LoadResult], dict[str, float]]:
                # Both sides warm up on this endpoint first, equally: a freshly started worker
                # serves its first ~10,000 registrations up to a third slower than later ones
                # (new connections' first touches of shared buffers, the workers' first
                # requests), and the figure is steady-state throughput, not a replica's start.
                run_load(ours, maker, headers=headers, seconds=WARM_UP_SECONDS)
                run_load(bare, maker, seconds=WARM_UP_SECONDS)
                with PeakMemory(workers) as peak:
                    our_cpu = ServerCpu(workers)
                    mine = run_load(ours, maker, headers=headers, seconds=seconds)
                    our_cpu.measured(mine.requests)
                peaks.append(peak.peak)
                bare_cpu = ServerCpu(partial(children, bare_process.pid))
                baseline = run_load(bare, maker, seconds=seconds)
                cpu[endpoint] = (our_cpu, bare_cpu.measured(baseline.requests))  # as reported
                return (mine, baseline), {baseline_name: baseline.rate}

            results[name] = until_baselines_are_usual(
                side_by_side, outcome.notes, judge=judge_baselines
            )
            if profile:  # sampled on its own: py-spy on 2 cores would slow ours only
                sampler = Sampler([ours_process.pid], seconds / 2)
                run_load(ours, maker, headers=headers, seconds=seconds / 2)
                profiles[f"intake API under {name}"] = sampler.finish()
        # The latency target is about the query at 50,000 clients, not queueing: one client.
        alone = run_load(ours, caseload, headers=admin, seconds=seconds, clients=1)
        bare_alone = run_load(bare, caseload, seconds=seconds, clients=1)
        stack.stop(ours_process)
        stack.stop(bare_process)
    for name, (mine, baseline) in results.items():
        outcome.add(
            f"{name} throughput",
            mine.rate,
            "req/s",
            baseline=baseline.rate,
            baseline_name="bare Flask + SQLAlchemy",
            target="≥ 0.5x bare",
            check=lambda f: (f.ratio or 0) >= 0.5,
            usual_baseline=usual_rate(f"bare {name}") if judge_baselines else None,
            failed=mine.errors + baseline.errors,
        )
        outcome.add(
            f"{name} p99 under that load",
            mine.percentile(99) * 1000,
            "ms",
            baseline=baseline.percentile(99) * 1000,
            baseline_name="bare",
        )
        ours_cpu, bare_cpu = cpu[name]
        outcome.add(
            f"{name} server CPU a request (API workers + PostgreSQL: "
            f"{ours_cpu.api_ms:.2f} + {ours_cpu.database_ms:.2f} ms; bare "
            f"{bare_cpu.api_ms:.2f} + {bare_cpu.database_ms:.2f} ms)",
            ours_cpu.api_ms + ours_cpu.database_ms,
            "ms",
            baseline=bare_cpu.api_ms + bare_cpu.database_ms,
            baseline_name="bare",
        )
        if mine.errors or baseline.errors:
            outcome.notes.append(f"{name}: {mine.errors} errors (ours), {baseline.errors} (bare).")
    outcome.add(
        f"GET caseload p99, one request at a time ({clients:,} clients in the database)",
        alone.percentile(99) * 1000,
        "ms",
        baseline=bare_alone.percentile(99) * 1000,
        baseline_name="bare",
        target="< 50 ms",
        check=lambda f: f.value < 50,
    )
    outcome.notes.append(
        f"SQL statements per request (each a PostgreSQL round trip), BEGIN and COMMIT not "
        f"counted: POST /clients {statements['POST /clients']} (reference from a sequence with "
        "the person's advisory lock in one statement; one statement matching the person's "
        "records and inserting client + first episode unless a visible match refuses it; at "
        "commit one statement inserting the audit row, moving its lane's head and inserting the "
        "outbox row; the relay's wake-up is sent after the commit, off the request, at most one "
        "every 20 ms per process) against 1 insert bare; GET caseload "
        f"{statements['GET caseload']} (manager, clients, current episodes and open flags in one "
        "query; then that one audit statement), an audited read in autocommit: no BEGIN or "
        "COMMIT, the audit statement commits by itself, against BEGIN, 1 select and ROLLBACK "
        "bare. No pool pre-ping on either side. The audit row of a read is a write: its commit "
        "waits for the WAL flush, which the bare select never does. Auth (JWT), validation, "
        "audit and the outbox are the product; "
        "the bare endpoints have none of them."
    )
    outcome.notes.append(
        f"gunicorn gthread, 2 workers x 4 threads each for both; 4 load processes with one "
        f"keep-alive connection each, {seconds:.0f} s per figure after "
        f"{WARM_UP_SECONDS:.0f} s of the same load on each side, on the same 2 cores."
    )
    outcome.profiles.update(profiles)
    add_memory(memory, "intake API worker", idle, max(peaks), "under load")
    return [outcome, memory]
