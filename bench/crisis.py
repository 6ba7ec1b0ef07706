"""Crisis-alert latency: from the 201 of a high-risk assessment to the URGENT email arriving at a
real SMTP server, while other API writes run in the background at a fixed rate."""

from __future__ import annotations

import email
import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
import requests
from aiosmtpd.controller import Controller

from bench.environment import Stack, free_port, wait_until
from bench.load import percentile, random_name
from bench.pipeline import _conninfo
from bench.profiling import Sampler
from bench.report import Outcome
from shared.web import mint_token

MANAGERS = 10
HIGH_RISK = {
    "domains": {"housing": {"rating": "unmet_need"}},
    "phq9": {"items": [3, 3, 3, 3, 3, 3, 3, 3, 3]},
    "cssrs": {
        "wish_to_be_dead": True,
        "suicidal_thoughts": True,
        "method": True,
        "intent": True,
        "plan_with_intent": True,
    },
}
REFERENCE = re.compile(r"\bC-\d+\b")


@dataclass
class ArrivalLog:
    """The SMTP server's side: when each urgent email for a client reference first arrived."""

    first_urgent: dict[str, float] = field(default_factory=dict)
    received: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        at = time.time()
        self.received += 1
        subject = email.message_from_bytes(envelope.content)["Subject"] or ""
        match = REFERENCE.search(subject)
        if subject.startswith("URGENT") and match:
            self.first_urgent.setdefault(match.group(0), at)
        return "250 Message accepted for delivery"


class Api:
    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        response = self.session.request(method, f"{self.url}{path}", json=body, timeout=30)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response


def background_writes(api: Api, rate: float, stop: threading.Event, done: list[int]) -> None:
    """Registrations at a fixed rate (the rest of the agency keeps working)."""
    rng = random.Random(3)
    interval = 1 / rate
    next_at = time.monotonic()
    while not stop.is_set():
        api.call(
            "POST",
            "/clients",
            {
                "given_name": random_name(rng),
                "family_name": random_name(rng),
                "date_of_birth": "1990-05-05",
            },
        )
        done[0] += 1
        next_at += interval
        stop.wait(max(0.0, next_at - time.monotonic()))


def run_crisis(alerts: int, background_rate: float, alert_rate: float, profile: bool) -> Outcome:
    outcome = Outcome("crisis-alert latency")
    arrivals = ArrivalLog()
    port = free_port()
    smtp = Controller(arrivals, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        with Stack(
            ("intake", "notifications"),
            NOTIFICATIONS_SMTP_PORT=str(port),
            CASEHUB_RELAY_POLL_INTERVAL="0.2",
        ) as stack:
            stack.migrate("intake", "notifications")
            intake_api_process, intake_url = stack.start_api("intake", workers=2)
            _, notifications_url = stack.start_api("notifications", workers=1)
            workers = [stack.start_worker("intake"), stack.start_worker("notifications")]
            settings = stack.settings("intake")

            def as_(sub: str, role: str, url: str) -> Api:
                return Api(url, mint_token(settings, sub, [role]))

            admin = as_("admin-1", "admin", notifications_url)
            hiring = as_("admin-1", "admin", intake_url)
            registrar = as_("iw-1", "intake_worker", intake_url)
            for person in [f"cm-{m}" for m in range(MANAGERS)] + ["sup-1"]:
                admin.call(
                    "PUT", f"/users/{person}/preferences", {"email": f"{person}@agency.example"}
                )
            cap = alerts // MANAGERS + 1
            for m in range(MANAGERS):
                hiring.call(
                    "PUT",
                    f"/case-managers/cm-{m}",
                    {
                        "display_name": f"CM {m}",
                        "team": "north",
                        "supervisor_id": "sup-1",
                        "caseload_cap": cap,
                    },
                )
            token = mint_token(settings, "iw-1", ["intake_worker"])

            def admit(n: int) -> tuple[str, str, int]:
                rng = random.Random(n)
                api = Api(intake_url, token)
                client = api.call(
                    "POST",
                    "/clients",
                    {
                        "given_name": random_name(rng),
                        "family_name": random_name(rng),
                        "date_of_birth": "1980-01-01",
                    },
                ).json()
                api.call(
                    "POST",
                    f"/clients/{client['id']}/assignment",
                    {"case_manager_id": f"cm-{n % MANAGERS}"},
                )
                return client["id"], client["reference"], n % MANAGERS

            with ThreadPoolExecutor(4) as pool:
                clients = list(pool.map(admit, range(alerts)))
            if not wait_until(lambda: _assignments_seen(stack) >= alerts, timeout=120):
                raise RuntimeError("notifications never learned every assignment")
            time.sleep(1.5)  # let assignment emails drain before measuring

            stop = threading.Event()
            written = [0]
            load = threading.Thread(
                target=background_writes, args=(registrar, background_rate, stop, written)
            )
            load.start()
            answered: dict[str, float] = {}

            def raise_alerts(batch: list[tuple[str, str, int]]) -> None:
                """High-risk assessments at ``alert_rate``, each 201's moment kept."""
                interval, next_at = 1 / alert_rate, time.monotonic()
                for client_id, reference, m in batch:
                    assessor = as_(f"cm-{m}", "case_manager", intake_url)
                    response = assessor.call("POST", f"/clients/{client_id}/assessments", HIGH_RISK)
                    answered.setdefault(reference, time.time())
                    assert response.status_code == 201 and response.json()["risk_level"] == "high"
                    next_at += interval
                    time.sleep(max(0.0, next_at - time.monotonic()))

            # Measured without the sampler: py-spy on 2 cores moves the tail by seconds.
            started = time.time()
            raise_alerts(clients)
            wait_until(lambda: len(set(answered) & set(arrivals.first_urgent)) >= alerts, 120)
            took, registrations = time.time() - started, written[0]
            stages = _stages(stack, answered, arrivals.first_urgent)
            excerpt = ""
            if profile:
                # The profile: the same workload again for a while (second alerts for the
                # first clients), sampled, after the figures are taken.
                profiled = clients[: max(1, min(len(clients), int(alert_rate * 15)))]
                sampler = Sampler([p.pid for p in workers], seconds=len(profiled) / alert_rate)
                raise_alerts(profiled)
                excerpt = sampler.finish()
            stop.set()
            load.join()
            del intake_api_process
    finally:
        smtp.stop()
    latencies = [
        (arrivals.first_urgent[ref] - answered[ref]) * 1000
        for ref in answered
        if ref in arrivals.first_urgent
    ]
    missing = alerts - len(latencies)
    for p in (50, 95, 99):
        outcome.add(
            f"p{p} from 201 to email ({len(latencies)} alerts)",
            percentile(latencies, p),
            "ms",
            target="< 250 ms" if p == 99 else "",
            check=(lambda f: f.value < 250 and missing == 0) if p == 99 else None,
        )
    outcome.notes.append(
        f"{alerts} high-risk assessments at {alert_rate:.0f}/s (far above any agency's rate), "
        "each emailing the case manager and "
        f"the supervisor; meanwhile {registrations} other registrations at {background_rate:.0f}/s "
        f"({took:.0f} s). Latency = SMTP server receipt of the first URGENT email naming the "
        "client minus the moment the assessment's 201 was read."
        + (f" {missing} alerts never arrived." if missing else "")
        + " Measured without profiling; the profile below samples the same workload run again "
        "afterwards (py-spy on 2 cores would otherwise move the tail)."
    )
    outcome.notes.append(stages)
    if excerpt:
        outcome.profiles["intake worker + notifications worker during the alerts"] = excerpt
    return outcome


def _assignments_seen(stack: Stack) -> int:
    with psycopg.connect(_conninfo(stack.databases["notifications"])) as connection:
        row = connection.execute(
            "SELECT count(*) FROM inbox WHERE event_type LIKE '%case.assigned%'"
        ).fetchone()
    return int(row[0]) if row else 0


def _stages(stack: Stack, answered: dict[str, float], arrived: dict[str, float]) -> str:
    """Where the time goes, per alert, from the rows each stage leaves behind."""
    with psycopg.connect(_conninfo(stack.databases["intake"])) as connection:
        published = {
            reference: (event_id, at.timestamp())
            for reference, event_id, at in connection.execute(
                "SELECT payload::json->'data'->>'client_reference', event_id, published_at "
                "FROM outbox WHERE event_type = 'casehub.intake.risk.flagged.v1'"
            )
        }
    with psycopg.connect(_conninfo(stack.databases["notifications"])) as connection:
        received = {
            event_id: at.timestamp()
            for event_id, at in connection.execute("SELECT event_id, received_at FROM inbox")
        }
        dispatched = {
            reference: at.timestamp()
            for reference, at in connection.execute(
                "SELECT n.client_reference, min(d.delivered_at) FROM deliveries d "
                "JOIN notifications n ON n.id = d.notification_id "
                "WHERE d.channel = 'email' AND n.urgency = 'urgent' GROUP BY n.client_reference"
            )
            if at is not None
        }
    spans: dict[str, list[float]] = {
        "201 → relay confirmed": [],
        "→ notifications consumer": [],
        "→ dispatcher run": [],
        "→ SMTP server": [],
    }
    for reference, t201 in answered.items():
        if reference not in published or reference not in arrived:
            continue
        event_id, confirmed = published[reference]
        times = [t201, confirmed, received.get(event_id), dispatched.get(reference)]
        times.append(arrived[reference])
        if None in times:
            continue
        for name, start, end in zip(spans, times, times[1:], strict=False):
            spans[name].append((end - start) * 1000)  # type: ignore[operator]
    return (
        "Where the time goes (p50 / p99 ms): "
        + "; ".join(
            f"{name} {percentile(values, 50):.0f} / {percentile(values, 99):.0f}"
            for name, values in spans.items()
        )
        + "."
    )
