"""Half a million clients: intake's databases filled by PostgreSQL itself (``generate_series``,
one statement per table), then client search by name and caseload p99 through intake's API
under gunicorn, one request at a time, against the bare SQL each rests on (same run, same
database); and reporting's read model and event archive filled the same way (ten events an
episode) for the time of one funder report.

The rows are what the services' own handlers would have written for that many registrations
and events (same tables, same indexes, from the migrations); loading them through the API would
take hours on 2 cores, so the load itself is not what is measured."""

from __future__ import annotations

import random
import statistics
import time
from datetime import date
from typing import Any

import httpx
import psycopg
from sqlalchemy import make_url

from bench.environment import Stack
from bench.report import Outcome
from services.catalog import runtime_for
from services.reporting import domain as reporting_domain
from services.reporting.operations.report import Caller, funder_report_for
from shared.web import mint_token

CLIENTS_PER_MANAGER = 50
#: Events an episode carries in reporting (registered, assigned, two assessments, review due and
#: held, plan approved, referral sent and accepted, discharged): 500,000 episodes, 5,000,000.
EVENTS_PER_EPISODE = 10
SYLLABLES = ("an", "bel", "cor", "da", "el", "fin", "gar", "ho", "is", "jun", "ka", "lo", "mar")
PROGRAMMES = ("act-team", "housing-first", "intensive-case-management")


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


def load_reporting(url: str, episodes: int) -> int:
    """The read model of ``episodes`` episodes and their ten events each in the archive."""
    with psycopg.connect(_conninfo(url), autocommit=True) as connection:
        connection.execute(
            """INSERT INTO staff (case_manager_id, team, supervisor_id, caseload_cap, active,
                   version)
               SELECT 'cm-' || m, 'team-' || (m %% 40), 'sup-' || (m %% 40), 50, true, 1
               FROM generate_series(0, %(managers)s - 1) AS m""",
            {"managers": max(1, episodes // CLIENTS_PER_MANAGER)},
        )
        start = "timestamptz '2024-01-01 00:00+00'"
        connection.execute(
            f"""INSERT INTO episodes (episode_id, client_id, registered_at, programme,
                   programme_stated_at, discharged_at, discharge_reason, first_plan_approved_at)
               SELECT md5('episode' || n)::uuid::text, md5('client' || n)::uuid::text,
                      {start} + n * interval '2 minutes',
                      (%(programmes)s::text[])[1 + n %% 3], {start} + n * interval '2 minutes',
                      CASE WHEN n %% 3 = 0
                           THEN {start} + n * interval '2 minutes' + interval '120 days' END,
                      CASE WHEN n %% 3 = 0 THEN 'goals-met' END,
                      {start} + n * interval '2 minutes' + interval '20 days'
               FROM generate_series(0, %(episodes)s - 1) AS n""",
            {"episodes": episodes, "programmes": list(PROGRAMMES)},
        )
        connection.execute(
            f"""INSERT INTO assignments (event_id, episode_id, case_manager_id, assigned_at)
               SELECT md5('assigned' || n)::uuid::text, md5('episode' || n)::uuid::text,
                      'cm-' || (n %% %(managers)s),
                      {start} + n * interval '2 minutes' + interval '2 days'
               FROM generate_series(0, %(episodes)s - 1) AS n""",
            {"episodes": episodes, "managers": max(1, episodes // CLIENTS_PER_MANAGER)},
        )
        connection.execute(
            f"""INSERT INTO scores (assessment_id, episode_id, instrument, total, taken_at)
               SELECT md5('assessment' || n || '-' || a)::uuid::text,
                      md5('episode' || n)::uuid::text, i,
                      CASE WHEN a = 1 THEN 5 + n %% 20 ELSE n %% 18 END,
                      {start} + n * interval '2 minutes' + (3 + (a - 1) * 57) * interval '1 day'
               FROM generate_series(0, %(episodes)s - 1) AS n,
                    generate_series(1, 2) AS a, unnest(ARRAY['phq9', 'gad7']) AS i""",
            {"episodes": episodes},
        )
        connection.execute(
            f"""INSERT INTO reviews (review_id, episode_id, due_on, held_at)
               SELECT md5('review' || n)::uuid::text, md5('episode' || n)::uuid::text,
                      ({start} + n * interval '2 minutes' + interval '90 days')::date,
                      {start} + n * interval '2 minutes' + interval '91 days'
               FROM generate_series(0, %(episodes)s - 1) AS n""",
            {"episodes": episodes},
        )
        connection.execute(
            f"""INSERT INTO referrals (referral_id, client_id, organization_id, sent_at,
                   accepted_at)
               SELECT md5('referral' || n)::uuid::text, md5('client' || n)::uuid::text,
                      'partner-' || (n %% 20), {start} + n * interval '2 minutes' + interval '21 days',
                      {start} + n * interval '2 minutes' + interval '24 days'
               FROM generate_series(0, %(episodes)s - 1) AS n""",
            {"episodes": episodes},
        )
        types = [
            "intake.client.registered.v1",
            "intake.case.assigned.v1",
            "intake.assessment.completed.v1",
            "intake.assessment.completed.v1",
            "planning.review.due.v1",
            "planning.plan.reviewed.v1",
            "planning.plan.approved.v1",
            "referrals.referral.sent.v1",
            "referrals.referral.status_changed.v1",
            "intake.client.discharged.v1",
        ]
        connection.execute(
            f"""INSERT INTO archived_events (event_id, event_type, occurred_at, archived_at,
                   envelope)
               SELECT md5('event' || n || '-' || k)::uuid::text,
                      'casehub.' || (%(types)s::text[])[k], {start} + n * interval '2 minutes',
                      now(),
                      json_build_object('specversion', '1.0',
                          'id', md5('event' || n || '-' || k)::uuid::text,
                          'source', '/' || split_part((%(types)s::text[])[k], '.', 1),
                          'type', 'casehub.' || (%(types)s::text[])[k],
                          'subject', 'client/' || md5('client' || n)::uuid::text,
                          'time', {start} + n * interval '2 minutes',
                          'datacontenttype', 'application/json',
                          'data', json_build_object(
                              'client_id', md5('client' || n)::uuid::text,
                              'episode_id', md5('episode' || n)::uuid::text))::text
               FROM generate_series(0, %(episodes)s - 1) AS n,
                    generate_series(1, %(per)s) AS k""",
            {"episodes": episodes, "types": types, "per": EVENTS_PER_EPISODE},
        )
        connection.execute("VACUUM ANALYZE")
        return connection.execute("SELECT count(*) FROM archived_events").fetchone()[0]


def _timed_requests(http: httpx.Client, paths: list[str], headers: dict[str, str]) -> list[float]:
    samples = []
    for path in paths:
        began = time.perf_counter()
        response = http.get(path, headers=headers)
        samples.append(time.perf_counter() - began)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return samples


def _timed_sql(url: str, statement: str, parameters: list[dict[str, Any]]) -> list[float]:
    samples = []
    with psycopg.connect(_conninfo(url), autocommit=True) as connection:
        for values in parameters:
            began = time.perf_counter()
            connection.execute(statement, values).fetchall()
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
        bare_search = _timed_sql(
            stack.databases["intake"],
            "SELECT * FROM clients WHERE lower(family_name) LIKE %(p)s ORDER BY reference LIMIT 21",
            [{"p": f"%{n.lower()}%"} for n in names],
        )
        bare_caseload = _timed_sql(
            stack.databases["intake"],
            "SELECT * FROM clients WHERE case_manager_id = %(m)s",
            [{"m": m} for m in caseloads],
        )
        runtime = runtime_for("reporting", stack.settings("reporting"))
        period = reporting_domain.Period(date(2024, 1, 1), date(2025, 12, 31))
        began = time.perf_counter()
        with runtime.database.read_session() as session:
            document = funder_report_for(
                session,
                Caller("report-1", frozenset({"reporting"})),
                programme="housing-first",
                team=None,
                period=period,
                today=date(2026, 11, 30),
                format_="csv",
            )
        report_took = time.perf_counter() - began
        runtime.database.dispose()
        assert document
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
        report_took,
        "s",
        target="< 10 s",
        check=lambda f: f.value < 10,
    )
    outcome.notes.append(
        f"Loaded with generate_series: intake {clients:,} clients, episodes, "
        f"{clients // 20:,} assessments and open risk flags in {intake_load:.0f} s; reporting "
        f"{clients:,} episodes' read model and {events:,} archived events in "
        f"{reporting_load:.0f} s. {requests} requests of each kind, one at a time, as an admin "
        "(the widest search); p50 search "
        f"{_p(search, 50):.1f} ms, caseload {_p(caseload, 50):.1f} ms."
    )
    return [outcome]
