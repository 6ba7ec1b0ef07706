"""Reporting at half a million clients: the read model filled by PostgreSQL itself
(``generate_series``), then one funder report for one programme over two years and the KPIs of
every team (with the caseload of every case manager at each month end), against reading the
programme's rows with bare SQL (same run, same database). Part of ``python -m bench --only
size`` (bench/scale.py)."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from datetime import date

import psycopg
from sqlalchemy import make_url

from services.catalog import runtime_for
from services.reporting import domain
from services.reporting.operations.report import Caller, funder_report_for, kpis_for
from shared.config import Settings

CLIENTS_PER_MANAGER = 50
#: Events an episode carries in reporting (registered, assigned, two assessments, review due and
#: held, plan approved, referral sent and accepted, discharged): 500,000 episodes, 5,000,000.
EVENTS_PER_EPISODE = 10
PROGRAMMES = ("act-team", "housing-first", "intensive-case-management")
PROGRAMME = "housing-first"
PERIOD = domain.Period(date(2024, 1, 1), date(2025, 12, 31))
#: Every row of the programme's episodes a report could read, fetched by psycopg: the floor of
#: any computation that loads them.
BARE_READ = (
    "SELECT * FROM episodes WHERE programme = %(p)s",
    "SELECT s.* FROM scores s JOIN episodes e USING (episode_id) WHERE e.programme = %(p)s",
    "SELECT r.* FROM reviews r JOIN episodes e USING (episode_id) WHERE e.programme = %(p)s",
    "SELECT * FROM assignments a JOIN episodes e USING (episode_id) WHERE e.programme = %(p)s",
    """SELECT * FROM referrals WHERE client_id IN
           (SELECT client_id FROM episodes WHERE programme = %(p)s)""",
)


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def load_reporting(url: str, episodes: int) -> int:
    """The read model of ``episodes`` episodes: what their ten events each project to (the
    events themselves are in the platform's archive, not in reporting's database, since
    reporting_0004_archive_stream; the figures read only the read model)."""
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
        connection.execute("VACUUM ANALYZE")
    return episodes * EVENTS_PER_EPISODE


@dataclass(frozen=True)
class ReportTimes:
    funder_report: float
    #: Growth of the process's peak resident memory during the funder report (bytes).
    funder_report_peak_growth: int
    kpis_all_teams: float
    bare_read: float
    bare_rows: int


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure_reports(url: str, settings: Settings) -> ReportTimes:
    """The funder report (CSV) as the reporting role, the KPIs of every team as an admin, and
    the bare read of the programme's rows, each once on a warm database (after the bare read)."""
    began = time.perf_counter()
    rows = 0
    with psycopg.connect(_conninfo(url)) as connection:
        for number, statement in enumerate(BARE_READ):
            # A server-side cursor: every row parsed, a batch at a time (memory stays flat, so
            # the report's peak below is its own).
            with connection.cursor(name=f"bare_{number}") as cursor:
                cursor.itersize = 10_000
                cursor.execute(statement, {"p": PROGRAMME})
                rows += sum(1 for _ in cursor)
    bare = time.perf_counter() - began
    runtime = runtime_for("reporting", settings)
    try:
        peak = _peak_rss()
        began = time.perf_counter()
        with runtime.database.read_session() as session:
            document = funder_report_for(
                session,
                Caller("report-1", frozenset({"reporting"})),
                programme=PROGRAMME,
                team=None,
                period=PERIOD,
                today=date(2026, 11, 30),
                format_="csv",
            )
        report = time.perf_counter() - began
        growth = _peak_rss() - peak
        assert document
        began = time.perf_counter()
        with runtime.database.read_session() as session:
            body = kpis_for(
                session,
                Caller("admin-1", frozenset({"admin"})),
                programme=None,
                team=None,
                period=PERIOD,
                today=date(2026, 11, 30),
            )
        kpis = time.perf_counter() - began
        assert body["caseload"]
    finally:
        runtime.database.dispose()
    return ReportTimes(report, growth, kpis, bare, rows)
