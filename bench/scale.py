"""Half a million clients: intake's databases filled by PostgreSQL itself (``generate_series``,
one statement per table), then client search by name and caseload p99 through intake's API
under gunicorn, one request at a time, against the bare SQL each rests on (same run, same
database); and reporting's read model filled the same way (what ten events an episode project
to) for the time of one funder report and the KPIs of every team (bench/report_scale.py).

The rows are what the services' own handlers would have written for that many registrations
and events (same tables, same indexes, from the migrations); loading them through the API would
take hours on 2 cores, so the load itself is not what is measured."""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

import httpx
import psycopg
from sqlalchemy import make_url

from bench.environment import Stack
from bench.report import Outcome
from bench.report_scale import load_reporting, measure_reports
from shared.web import mint_token

CLIENTS_PER_MANAGER = 50
SYLLABLES = ("an", "bel", "cor", "da", "el", "fin", "gar", "ho", "is", "jun", "ka", "lo", "mar")


def _names(count: int, rng: random.Random) -> list[str]:
    """Pronounceable, distinct names: searching one finds a few hundred of 500,000 clients."""
    found: set[str] = set()
    while len(found) < count:
        found.add("".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))).capitalize())
    return sorted(found)


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def load_intake(url: str, clients: int, given: list[str], family: list[str]) -> None:
    managers = max(1, clients // CLIENTS_PER_MANAGER)
    with psycopg.connect(_conninfo(url), autocommit=True) as connection:
        connection.execute(
            """INSERT INTO case_managers
               (id, display_name, team, supervisor_id, caseload_cap, active, version)
               SELECT 'cm-' || m, 'Case manager ' || m, 'team-' || (m %% 40), 'sup-' || (m %% 40),
                      %(per)s, true, 0
               FROM generate_series(0, %(managers)s - 1) AS m""",
            {"managers": managers, "per": CLIENTS_PER_MANAGER},
        )
        connection.execute(
            """INSERT INTO clients (id, reference, given_name, family_name, date_of_birth,
                   person_key, contact, status, case_manager_id, care_version, legal_hold,
                   registered_by, created_at, updated_at)
               SELECT md5('client' || n)::uuid::text, 'S-' || n, g, f, born,
                      lower(g) || '|' || lower(f) || '|' || born, '{}', 'open',
                      'cm-' || (n %% %(managers)s), 1, false, 'seed', now(), now()
               FROM (SELECT n,
                            (%(given)s::text[])[1 + n %% cardinality(%(given)s::text[])] AS g,
                            (%(family)s::text[])[(1 + (n::bigint * 7919) %% cardinality(%(family)s::text[]))::int]
                              AS f,
                            date '1940-01-01' + ((n::bigint * 104729) %% 25000)::int AS born
                     FROM generate_series(0, %(clients)s - 1) AS n) AS s""",
            {"clients": clients, "managers": managers, "given": given, "family": family},
        )
        connection.execute(
            """INSERT INTO episodes (id, client_id, number, status, opened_at, case_manager_id,
                   next_review_due, last_contact_at)
               SELECT md5('episode' || n)::uuid::text, md5('client' || n)::uuid::text, 1, 'open',
                      now() - (n %% 700) * interval '1 day', 'cm-' || (n %% %(managers)s),
                      current_date + (n %% 90), now() - (n %% 30) * interval '1 day'
               FROM generate_series(0, %(clients)s - 1) AS n""",
            {"clients": clients, "managers": managers},
        )
        # One client in twenty has an assessment with an open risk flag (what the caseload ranks).
        connection.execute(
            """INSERT INTO assessments (id, client_id, episode_id, version, domains, risk_level,
                   risk_reasons, cssrs_screen_needed, assessed_by, completed_at)
               SELECT md5('assessment' || n)::uuid::text, md5('client' || n)::uuid::text,
                      md5('episode' || n)::uuid::text, 1, '{}',
                      (ARRAY['low','moderate','high'])[1 + n %% 3], '[]', false, 'seed', now()
               FROM generate_series(0, %(clients)s - 1, 20) AS n""",
            {"clients": clients},
        )
        connection.execute(
            """INSERT INTO risk_flags (id, client_id, episode_id, assessment_id, level, reasons,
                   status, opened_at)
               SELECT md5('flag' || n)::uuid::text, md5('client' || n)::uuid::text,
                      md5('episode' || n)::uuid::text, md5('assessment' || n)::uuid::text,
                      (ARRAY['low','moderate','high'])[1 + n %% 3], '[]', 'open', now()
               FROM generate_series(0, %(clients)s - 1, 20) AS n""",
            {"clients": clients},
        )
        connection.execute("VACUUM ANALYZE")


def _timed_requests(http: httpx.Client, paths: list[str], headers: dict[str, str]) -> list[float]:
    samples = []
    for path in paths:
        began = time.perf_counter()
        response = http.get(path, headers=headers)
        samples.append(time.perf_counter() - began)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return samples


def _timed_sql(
    url: str, statement: str, parameters: list[dict[str, Any]], *, prepare: bool | None = None
) -> list[float]:
    samples = []
    with psycopg.connect(_conninfo(url), autocommit=True) as connection:
        for values in parameters:
            began = time.perf_counter()
            connection.execute(statement, values, prepare=prepare).fetchall()
            samples.append(time.perf_counter() - began)
    return samples


def _p(samples: list[float], percentile: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[percentile - 1] * 1000


def run_scale(clients: int, requests: int) -> list[Outcome]:
    outcome = Outcome("large data")
    rng = random.Random(11)
    given, family = _names(400, rng), _names(3000, rng)
    with Stack(("intake", "reporting")) as stack:
        stack.migrate("intake", "reporting")
        began = time.perf_counter()
        load_intake(stack.databases["intake"], clients, given, family)
        intake_load = time.perf_counter() - began
        began = time.perf_counter()
        events = load_reporting(stack.databases["reporting"], clients)
        reporting_load = time.perf_counter() - began
        process, url = stack.start_api("intake", workers=2)
        settings = stack.settings("intake")
        admin = {"Authorization": f"Bearer {mint_token(settings, 'admin-1', ['admin'])}"}
        managers = max(1, clients // CLIENTS_PER_MANAGER)
        names = [rng.choice(family) for _ in range(requests)]
        caseloads = [f"cm-{rng.randrange(managers)}" for _ in range(requests)]
        with httpx.Client(base_url=url, timeout=60) as http:
            _timed_requests(http, [f"/clients?name={n}" for n in names[:20]], admin)  # warm up
            search = _timed_requests(http, [f"/clients?name={n}" for n in names], admin)
            caseload = _timed_requests(
                http, [f"/case-managers/{m}/caseload" for m in caseloads], admin
            )
        stack.stop(process)
        # The LIKE the search runs, on the text its trigram index covers (intake_0020), planned
        # for each name as the search plans it (a prepared statement's generic plan is not).
        bare_search = _timed_sql(
            stack.databases["intake"],
            "SELECT * FROM clients WHERE (lower(given_name) || '|' || lower(family_name) || '|' "
            "|| person_key) LIKE %(p)s ORDER BY reference LIMIT 51",
            [{"p": f"%{n.lower()}%"} for n in names],
            prepare=False,
        )
        bare_caseload = _timed_sql(
            stack.databases["intake"],
            "SELECT * FROM clients WHERE case_manager_id = %(m)s",
            [{"m": m} for m in caseloads],
        )
        reports = measure_reports(stack.databases["reporting"], stack.settings("reporting"))
    outcome.add(
        f"client search by name p99 ({clients:,} clients)",
        _p(search, 99),
        "ms",
        baseline=_p(bare_search, 99),
        baseline_name="bare SQL: the trigram LIKE, one page",
        target="< 100 ms",
        check=lambda f: f.value < 100,
    )
    outcome.add(
        f"caseload p99 ({clients:,} clients, 50 a case manager)",
        _p(caseload, 99),
        "ms",
        baseline=_p(bare_caseload, 99),
        baseline_name="bare SQL: the manager's clients",
        target="< 50 ms",
        check=lambda f: f.value < 50,
    )
    outcome.add(
        f"funder report, one programme, 2 years ({clients:,} episodes, {events:,} events)",
        reports.funder_report,
        "s",
        baseline=reports.bare_read,
        baseline_name=f"bare SQL: the programme's {reports.bare_rows:,} rows fetched",
        target="< 10 s",
        check=lambda f: f.value < 10,
    )
    outcome.add(
        f"KPIs, every team, 2 years, caseload at 24 month ends ({managers:,} case managers)",
        reports.kpis_all_teams,
        "s",
        baseline=reports.bare_read,
        baseline_name="the same bare read",
    )
    outcome.notes.append(
        "Funder report: peak resident memory of the process grew by "
        f"{reports.funder_report_peak_growth / 2**20:,.0f} MB while it ran (the figures are "
        "counted in SQL, medians included; only crisis alerts come back as rows)."
    )
    outcome.notes.append(
        f"Loaded with generate_series: intake {clients:,} clients, episodes, "
        f"{clients // 20:,} assessments and open risk flags in {intake_load:.0f} s; reporting "
        f"the read model of {clients:,} episodes ({events:,} events' worth) in "
        f"{reporting_load:.0f} s. {requests} requests of each kind, one at a time, as an admin "
        "(the widest search); p50 search "
        f"{_p(search, 50):.1f} ms, caseload {_p(caseload, 50):.1f} ms."
    )
    return [outcome]
