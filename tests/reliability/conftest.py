"""Fault tests: real processes on real PostgreSQL and RabbitMQ, with servers of their own to stop."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
import requests
from sqlalchemy.engine import make_url

from tests.support.processes import ProcessPlatform

IW = ("iw-1", "intake_worker")
ADMIN = ("admin-1", "admin")
CASE_MANAGERS = [f"cm-{number}" for number in range(10)]
HIGH_RISK = {
    "wish_to_be_dead": True,
    "suicidal_thoughts": True,
    "method": True,
    "intent": True,
    "plan_with_intent": True,
}
NO_RISK = {"wish_to_be_dead": False, "suicidal_thoughts": False}


def query(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    url = make_url(database_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), connect_timeout=5) as db:
        return list(db.execute(sql).fetchall())


def database_url(platform: ProcessPlatform, service: str) -> str:
    return platform.environment[f"{service.upper()}_DATABASE_URL"]


def outbox_ids_for(platform: ProcessPlatform, consumer: str) -> set[str]:
    """Every event any service of the platform wrote that ``consumer`` subscribes to."""
    topology = platform.topology()
    wanted: set[str] = set()
    for producer in platform.services:
        for event_id, routing_key in query(
            database_url(platform, producer), "SELECT event_id, routing_key FROM outbox"
        ):
            if consumer in topology.subscribers(routing_key):
                wanted.add(event_id)
    return wanted


def inbox_ids(platform: ProcessPlatform, consumer: str) -> set[str]:
    return {row[0] for row in query(database_url(platform, consumer), "SELECT event_id FROM inbox")}


def unpublished(platform: ProcessPlatform, service: str) -> int:
    [(count,)] = query(
        database_url(platform, service), "SELECT count(*) FROM outbox WHERE published_at IS NULL"
    )
    return count


def plans_per_client(platform: ProcessPlatform) -> Counter[str]:
    rows = query(database_url(platform, "planning"), "SELECT client_id FROM plans")
    return Counter(client_id for (client_id,) in rows)


def hire_case_managers(platform: ProcessPlatform) -> None:
    for person in CASE_MANAGERS:
        saved = platform.call(
            "intake",
            "PUT",
            f"/case-managers/{person}",
            ADMIN,
            {"display_name": person, "team": "north", "supervisor_id": "sup-1"},
        )
        assert saved.status_code == 200, saved.text


@dataclass
class Workload:
    """API writes through intake as an agency makes them: register, assign, assess."""

    platform: ProcessPlatform
    statuses: Counter[int] = field(default_factory=Counter)
    client_ids: list[str] = field(default_factory=list)
    done: int = 0
    batch: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)

    def _write(self, method: str, path: str, who: tuple[str, ...], body: Any) -> Any:
        session = getattr(self._local, "session", None) or requests.Session()
        self._local.session = session
        response = self.platform.call("intake", method, path, who, body, session=session)
        with self._lock:
            self.statuses[response.status_code] += 1
            self.done += 1
        return response.json() if response.ok else None

    def admit(self, number: int, *, assess: bool, cssrs: dict[str, bool]) -> None:
        """1 write (register) or 3 (register, assign, assess with an unmet housing need)."""
        client = self._write(
            "POST",
            "/clients",
            IW,
            {
                "given_name": "Test",
                "family_name": f"Client{self.batch}{number}",
                "date_of_birth": "1980-01-01",
            },
        )
        if client is None or not assess:
            return
        with self._lock:
            self.client_ids.append(client["id"])
        case_manager = CASE_MANAGERS[number % len(CASE_MANAGERS)]
        self._write(
            "POST", f"/clients/{client['id']}/assignment", IW, {"case_manager_id": case_manager}
        )
        self._write(
            "POST",
            f"/clients/{client['id']}/assessments",
            (case_manager, "case_manager"),
            {
                "domains": {"housing": {"rating": "unmet_need"}},
                "phq9": {"items": [1, 1, 1, 1, 1, 1, 1, 1, 0]},
                "cssrs": cssrs,
            },
        )

    def run(
        self,
        registered_only: int,
        assessed: int,
        *,
        cssrs: dict[str, bool] = NO_RISK,
        threads: int = 4,
        on_progress: Callable[[Workload], None] | None = None,
    ) -> None:
        jobs = [(n, n >= registered_only) for n in range(registered_only + assessed)]
        with ThreadPoolExecutor(threads) as pool:
            for _ in pool.map(lambda job: self.admit(job[0], assess=job[1], cssrs=cssrs), jobs):
                if on_progress is not None:
                    on_progress(self)

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)
