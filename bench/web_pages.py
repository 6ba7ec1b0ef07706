"""The web app's page cost: server time of the caseload and client-record pages for a case
manager with 50 clients (p95), against the same API calls made one after another in the same
run. The services run in-process (their own Flask apps over httpx's WSGI transport, the embedded
default in a temporary folder), so the ratio is what the web app adds: rendering, sessions, and
(below 1) what calling the APIs concurrently saves."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.report import Outcome
from services.catalog import runtime_for
from services.web.app import create_app
from services.web.backend import Backend
from services.web.config import WebSettings
from shared.config import SERVICE_NAMES, Settings
from shared.web import mint_token

CASELOAD = 50
MANAGER = "cm-ana"


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] * 1000


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def run_web_pages(iterations: int) -> Outcome:
    outcome = Outcome("web pages")
    with tempfile.TemporaryDirectory(prefix="casehub-bench-web-") as folder:
        data = Path(folder)

        def settings(name: str) -> Settings:
            return Settings(
                service=name,
                data_dir=data,
                database_url=f"sqlite:///{data / name}.db",
                broker_url="filesystem://",
            )

        apps = {}
        for name in SERVICE_NAMES:
            runtime = runtime_for(name, settings(name))
            runtime.migrate()
            apps[name] = runtime.create_app()
        urls = {name: f"http://{name}.bench" for name in SERVICE_NAMES}
        backend = Backend(urls, transports={n: httpx.WSGITransport(app=a) for n, a in apps.items()})
        platform = settings("web")
        token = mint_token(platform, MANAGER, ["case_manager"])
        admin = {"Authorization": f"Bearer {mint_token(platform, 'admin-1', ['admin'])}"}
        intake = apps["intake"].test_client()
        intake.put(
            f"/case-managers/{MANAGER}",
            headers=admin,
            json={
                "display_name": "Ana",
                "team": "north",
                "supervisor_id": "sup-1",
                "caseload_cap": CASELOAD,
            },
        )
        client_ids = []
        for n in range(CASELOAD):
            created = intake.post(
                "/clients",
                headers=admin,
                json={
                    "given_name": f"Client{n}",
                    "family_name": "Bench",
                    "date_of_birth": "1980-01-01",
                },
            ).json
            intake.post(
                f"/clients/{created['id']}/assignment",
                headers=admin,
                json={"case_manager_id": MANAGER},
            )
            client_ids.append(created["id"])
        record = client_ids[0]
        cm = {"Authorization": f"Bearer {token}"}
        for phq in ([2] * 9, [1] * 9, [0] * 9):
            intake.post(
                f"/clients/{record}/assessments",
                headers=cm,
                json={"domains": {"housing": {"rating": "unmet_need"}}, "phq9": {"items": phq}},
            )
        web = create_app(
            WebSettings(platform=platform, service_urls=urls), backend=backend
        ).test_client()
        web.get("/sign-in")
        csrf = (
            web.get("/sign-in")
            .get_data(as_text=True)
            .split('name="csrf_token" value="')[1]
            .split('"')[0]
        )
        web.post("/sign-in/development", data={"csrf_token": csrf, "person": MANAGER})
        pages = {
            "caseload page (50 clients)": (
                "/caseload",
                [
                    ("intake", f"/case-managers/{MANAGER}/caseload", {"limit": 200}),
                    ("planning", "/reviews/overdue", {"limit": 200}),
                    ("notifications", "/me/notifications", {"limit": 50}),
                ],
            ),
            "client record page": (
                f"/clients/{record}",
                [
                    ("intake", f"/clients/{record}", {}),
                    ("intake", f"/clients/{record}/consents", {"limit": 200}),
                    ("intake", f"/clients/{record}/assessments", {"limit": 200}),
                    ("intake", f"/clients/{record}/risk-flags", {"limit": 200}),
                    ("planning", "/plans", {"client_id": record, "limit": 200}),
                    ("referrals", "/referrals", {"client_id": record, "limit": 200}),
                    ("notifications", "/me/notifications", {"limit": 50}),
                ],
            ),
        }
        for name, (path, calls) in pages.items():
            assert web.get(path).status_code == 200, path
            page_times, call_times = [], []
            each_call: list[list[float]] = [[] for _ in calls]
            for _ in range(iterations):
                page_times.append(_timed(lambda path=path: web.get(path)))
                took = [
                    _timed(lambda c=c: backend.call(token, c[0], "GET", c[1], params=c[2]))
                    for c in calls
                ]
                call_times.append(sum(took))
                for samples, one in zip(each_call, took, strict=True):
                    samples.append(one)
            outcome.add(
                f"{name}: server time p95",
                _p95(page_times),
                "ms",
                baseline=_p95(call_times),
                baseline_name=f"its {len(calls)} API calls one after another, p95",
            )
            slowest = max(range(len(calls)), key=lambda n: _p95(each_call[n]))
            outcome.add(
                f"{name}: server time p95 against its slowest API call",
                _p95(page_times),
                "ms",
                baseline=_p95(each_call[slowest]),
                baseline_name=f"slowest call alone, p95 ({calls[slowest][0]} {calls[slowest][1]})",
                target="< 1.5x",
                check=lambda f: (f.ratio or 99) < 1.5,
            )
        backend.close()
    outcome.notes.append(
        "Both sides in one process on SQLite; below 1 the page's concurrent API calls more than "
        "pay for rendering and the session."
    )
    return outcome


if __name__ == "__main__":
    for figure in run_web_pages(40).figures:
        print(
            f"{figure.name}: {figure.value:.1f} {figure.unit} vs {figure.baseline:.1f} ({figure.ratio:.2f}x)"
        )
