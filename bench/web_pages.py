"""The web app's page cost as deployed: intake, planning, referrals and notifications each in its
own gunicorn processes on PostgreSQL, the web app in its own, calling them over HTTP. A case
manager with 50 clients (each with consent and an assessment, the plans planning drafts from
them; the record shown also has contacts, an appointment and a referral) opens the caseload and
the client record many times; after each page the bench makes the page's API calls itself,
with the same token, at once and then one by one, so every baseline is measured in the same run
under the same load. Target: a page's p95 under 1.5x the p95 of its slowest call alone."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx

from bench.environment import Stack, children, cpu_seconds
from bench.profiling import Sampler
from bench.report import Outcome
from services.demo import DemoClient, _eventually
from services.web.app import COOKIE
from services.web.sessions import SessionStore
from shared.clock import agency_today
from shared.db import Database
from shared.web import mint_token

SERVICES = ("intake", "planning", "referrals", "notifications")
CASELOAD = 50
MANAGER = "cm-ana"
ADMIN = ("admin-1", "admin")
INTAKE_WORKER = ("iw-1", "intake_worker")
PARTNER = "housing-first"
PARTNER_SERVICE = "tenancy-support"
TARGET = 1.5


@dataclass(frozen=True)
class Call:
    """One API call a page makes: service, path and query, as the web app sends it."""

    service: str
    path: str
    params: Mapping[str, Any]
    #: The path as the results name it (a client's id left out).
    shown: str = ""

    @property
    def label(self) -> str:
        return f"{self.service} {self.shown or self.path}"


def page_calls(client_id: str) -> dict[str, tuple[str, list[Call]]]:
    """Each measured page and the calls it makes for a case manager (services/web/api/
    caseload.py and clients.py; tests/web/test_bench_page_calls.py holds them equal)."""
    inbox = Call(
        "notifications",
        "/me/notifications",
        {"limit": 50, "urgent": "true", "unacknowledged": "true"},
    )

    def of(service: str, below: str, params: Mapping[str, Any]) -> Call:
        return Call(service, f"/clients/{client_id}{below}", params, f"/clients/{{id}}{below}")

    return {
        f"caseload page ({CASELOAD} clients)": (
            "/caseload",
            [
                Call("intake", f"/case-managers/{MANAGER}/caseload", {"limit": 200}),
                Call("planning", "/reviews/overdue", {"limit": 200}),
                inbox,
            ],
        ),
        "client record page": (
            f"/clients/{client_id}",
            [
                of("intake", "/record", {"limit": 200}),
                of("planning", "/casework", {"limit": 200}),
                Call("referrals", "/referrals", {"client_id": client_id, "limit": 200}),
                inbox,
            ],
        ),
    }


def p95_ms(samples: Sequence[float]) -> float:
    """95th percentile of durations in seconds, in milliseconds (inclusive method: never
    beyond the largest sample, so a handful of samples gives a usable figure)."""
    if len(samples) < 2:
        return samples[0] * 1000 if samples else float("nan")
    return statistics.quantiles(samples, n=20, method="inclusive")[-1] * 1000


def page_figures(
    outcome: Outcome,
    name: str,
    pages: Sequence[float],
    calls: Sequence[Call],
    alone: Sequence[Sequence[float]],
) -> None:
    """The page against its slowest call alone (the target) and against its calls one after
    another. ``alone[n]`` holds call ``n``'s durations; the i-th of each was measured right
    after the i-th page."""
    if len(alone) != len(calls) or any(len(samples) != len(pages) for samples in alone):
        raise ValueError("each call needs one duration per page")
    in_turn = [sum(each) for each in zip(*alone, strict=True)]
    slowest = max(range(len(calls)), key=lambda n: p95_ms(alone[n]))
    outcome.add(
        f"{name}: server time p95 against its slowest API call",
        p95_ms(pages),
        "ms",
        baseline=p95_ms(alone[slowest]),
        baseline_name=f"slowest call alone, p95: {calls[slowest].label}",
        target=f"< {TARGET}x",
        check=lambda f: (f.ratio or 99) < TARGET,
    )
    outcome.add(
        f"{name}: server time p95 against its calls one after another",
        p95_ms(pages),
        "ms",
        baseline=p95_ms(in_turn),
        baseline_name=f"its {len(calls)} API calls one after another, p95",
    )
    outcome.notes.append(
        f"{name}, each call alone (p95): "
        + "; ".join(f"{c.label} {p95_ms(s):.1f} ms" for c, s in zip(calls, alone, strict=True))
        + f". Page median {statistics.median(pages) * 1000:.1f} ms."
    )


def _timed(http: httpx.Client, url: str, **options: Any) -> float:
    started = time.perf_counter()
    response = http.get(url, **options)
    took = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {url}: {response.status_code} {response.text[:300]}")
    return took


def seed(demo: DemoClient) -> str:
    """The case manager's 50 clients and one full record; returns that record's client id."""
    demo.call(
        "intake",
        "PUT",
        f"/case-managers/{MANAGER}",
        *ADMIN,
        {"display_name": "Ana", "team": "north", "supervisor_id": "sup-1", "caseload_cap": 60},
    )
    demo.call(
        "notifications",
        "PUT",
        f"/users/{MANAGER}/preferences",
        *ADMIN,
        {"channels": ["in_app"]},
    )
    demo.call("referrals", "PUT", f"/organizations/{PARTNER}", *ADMIN, {"name": "Housing First"})
    demo.call(
        "referrals",
        "PUT",
        f"/services/{PARTNER_SERVICE}",
        *ADMIN,
        {
            "organization_id": PARTNER,
            "name": "Tenancy support",
            "domains": ["housing"],
            "languages": ["en"],
        },
    )
    manager = (MANAGER, "case_manager")
    ids = []
    for n in range(CASELOAD):
        client = demo.call(
            "intake",
            "POST",
            "/clients",
            *INTAKE_WORKER,
            {
                "given_name": f"Client{n}",
                "family_name": "Bench",
                "date_of_birth": f"19{60 + n % 40}-0{1 + n % 9}-1{n % 10}",
                "confirmed_not_duplicate": True,
            },
        )
        ids.append(client["id"])
        path = f"/clients/{client['id']}"
        demo.call(
            "intake", "POST", f"{path}/assignment", *INTAKE_WORKER, {"case_manager_id": MANAGER}
        )
        demo.call(
            "intake",
            "POST",
            f"{path}/consents",
            *manager,
            {
                "organization_id": PARTNER,
                "categories": ["contact_details", "assessment_summary"],
                "starts_on": agency_today().isoformat(),
            },
        )
        demo.call(
            "intake",
            "POST",
            f"{path}/assessments",
            *manager,
            {
                "domains": {"housing": {"rating": "unmet_need"}, "income": {"rating": "met_need"}},
                "phq9": {"items": [n % 3] * 9},
                "gad7": {"items": [1] * 7},
            },
        )
    record = ids[0]
    path = f"/clients/{record}"
    demo.call(
        "intake",
        "PUT",
        f"{path}/reminder-consent",
        *manager,
        {"channel": "email", "address": "client0@bench.example"},
    )
    for items in ([2] * 9, [1] * 9):  # three assessments: a chart with a history
        demo.call(
            "intake",
            "POST",
            f"{path}/assessments",
            *manager,
            {"domains": {"housing": {"rating": "unmet_need"}}, "phq9": {"items": items}},
        )
    deadline = time.monotonic() + 120
    # Planning hears of the assignment (and drafts the plan), referrals of the consent, by events.
    _eventually(
        "the record's plan",
        lambda: demo.call("planning", "GET", f"/plans?client_id={record}", *ADMIN)["items"] or None,
        deadline,
    )
    now = datetime.now(UTC)
    for hours in (2, 26, 50):
        demo.call(
            "planning",
            "POST",
            f"{path}/contacts",
            *manager,
            {
                "contact_type": "home_visit",
                "occurred_at": (now - timedelta(hours=hours)).isoformat(),
                "duration_minutes": 45,
                "location": "Client's flat",
                "participants": [{"kind": "client"}],
                "purpose": "Check on tenancy",
                "note": {"data": "Seen at home.", "assessment": "Settled.", "plan": "Visit again."},
            },
        )
    demo.call(
        "planning",
        "POST",
        f"{path}/appointments",
        *manager,
        {"starts_at": (now + timedelta(days=3)).isoformat(), "location": "Office"},
    )
    _eventually(
        "the referral",
        partial(_refer, demo, record),
        deadline,
    )
    return record


def _refer(demo: DemoClient, client_id: str) -> dict[str, Any] | None:
    """A referral, once referrals has heard of the consent (a 409/422 until then)."""
    try:
        made = demo.call(
            "referrals",
            "POST",
            "/referrals",
            MANAGER,
            "case_manager",
            {"client_id": client_id, "service_id": PARTNER_SERVICE, "domain": "housing"},
        )
    except Exception:  # not yet known to referrals
        return None
    return made if made and made.get("id") else None


def signed_in_cookie(stack: Stack, token: str) -> str:
    """A session in the web app's store as the sign-in leaves it (the bench has no identity
    provider to go through): the cookie value the browser would hold."""
    settings = stack.settings("web")
    store = SessionStore(
        Database(settings.database_url), idle=timedelta(minutes=15), lifetime=timedelta(hours=1)
    )
    now = datetime.now(UTC)
    session = store.new(
        now,
        {
            "sub": MANAGER,
            "name": "Ana",
            "roles": ["case_manager"],
            "access_token": token,
            "refresh_token": None,
            "expires_at": time.time() + 3600,
            "id_token": None,
        },
    )
    session.changed = True
    store.save(session, now)
    store.database.dispose()
    return session.id


#: Pages loaded, and nothing else, while the processes' CPU time is read: /proc counts it in
#: ticks of 10 ms, so 30 pages left each process's figure up to 0.7 ms a page apart run to run.
CPU_PAGES = 100


def run_web_pages(iterations: int, profile: bool = True) -> Outcome:
    outcome = Outcome("web pages")
    with Stack(
        (*SERVICES, "web"),
        NOTIFICATIONS_ON_CALL_EMAIL="on-call@casehub-bench.org",
        NOTIFICATIONS_INTAKE_ON_CALL_EMAIL="intake-on-call@casehub-bench.org",
    ) as stack:
        stack.migrate(*SERVICES, "web")
        apis = {name: stack.start_api(name, workers=2) for name in SERVICES}
        urls = {name: url for name, (_, url) in apis.items()}
        workers = [stack.start_worker(name) for name in SERVICES]
        record = seed(DemoClient(stack.settings("intake"), urls))
        for worker in workers:  # the pages only read: nothing else runs while they are measured
            stack.stop(worker)
        stack.environment.update({f"CASEHUB_{n.upper()}_URL": url for n, url in urls.items()})
        # Never fetched (the bench's session needs no refresh); without a provider the web app
        # refuses to start outside the embedded default.
        stack.environment["WEB_OIDC_DISCOVERY_URL"] = "http://127.0.0.1:9/.well-known/none"
        web_process, web_url = stack.start_api("web", workers=2)
        arbiters = {name: process.pid for name, (process, _) in apis.items()}
        arbiters["web"] = web_process.pid
        token = mint_token(stack.settings("web"), MANAGER, ["case_manager"], ttl_seconds=3600)
        cookie = signed_in_cookie(stack, token)
        bearer = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        services = {
            n: httpx.Client(base_url=u, timeout=30, headers=bearer) for n, u in urls.items()
        }
        try:
            with (
                httpx.Client(timeout=30, cookies={COOKIE: cookie}) as http,
                ThreadPoolExecutor(16) as pool,
            ):
                for name, (path, calls) in page_calls(record).items():

                    def one(c: Call) -> float:
                        return _timed(services[c.service], c.path, params=c.params)

                    def at_once(calls: list[Call] = calls) -> float:
                        started = time.perf_counter()
                        list(pool.map(one, calls))
                        return time.perf_counter() - started

                    for _ in range(3):  # warm up: connections, caches, templates
                        _timed(http, web_url + path)
                        at_once()
                    pages: list[float] = []
                    together: list[float] = []
                    alone: list[list[float]] = [[] for _ in calls]
                    for _ in range(iterations):
                        pages.append(_timed(http, web_url + path))
                        together.append(at_once())
                        for samples, c in zip(alone, calls, strict=True):
                            samples.append(one(c))
                    page_figures(outcome, name, pages, calls, alone)
                    outcome.add(
                        f"{name}: server time p95 against its calls made at once by the bench",
                        p95_ms(pages),
                        "ms",
                        baseline=p95_ms(together),
                        baseline_name="the same calls concurrently, no web app, p95",
                    )
                    _cpu_figures(outcome, name, arbiters, lambda p=path: _timed(http, web_url + p))
                    if profile:
                        sampler = Sampler([web_process.pid], 4)
                        ends = time.monotonic() + 4
                        while time.monotonic() < ends:
                            _timed(http, web_url + path)
                        outcome.profiles[f"web app serving the {name}"] = sampler.finish()
        finally:
            for client in services.values():
                client.close()
    outcome.notes.append(
        f"{iterations} pages each, one at a time, from one keep-alive client; after each page "
        "the bench makes the page's calls itself, at once (16 threads, one keep-alive client "
        "a service, as the web app does) and then one by one, with the page's token. Every "
        "process (gunicorn gthread, 2 workers x 4 threads: each of the four services and the "
        "web app) on PostgreSQL, on the same cores as the bench; times are the client's, on "
        "loopback."
    )
    return outcome


def _cpu_figures(
    outcome: Outcome, name: str, arbiters: Mapping[str, int], load_page: Callable[[], float]
) -> None:
    """CPU time a page costs each process (gunicorn's workers), pages alone: with calls at once
    a page cannot take less than all of it spread over the cores."""

    def used() -> dict[str, float]:
        return {
            n: sum(cpu_seconds(pid) for pid in children(arbiter)) for n, arbiter in arbiters.items()
        }

    before = used()
    for _ in range(CPU_PAGES):
        load_page()
    after = used()
    each = {n: (after[n] - before[n]) / CPU_PAGES * 1000 for n in arbiters}
    total = sum(each.values())
    cores = os.cpu_count() or 1
    outcome.add(f"{name}: CPU a page, web app and services", total, "ms")
    outcome.notes.append(
        f"{name}, CPU a page: "
        + ", ".join(f"{n} {ms:.1f} ms" for n, ms in each.items())
        + f"; spread over {cores} cores at best {total / cores:.1f} ms, with PostgreSQL's own "
        "work on top."
    )


if __name__ == "__main__":
    for figure in run_web_pages(40, profile=False).figures:
        print(figure)
