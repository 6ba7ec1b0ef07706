"""Across services: planning's review.due travels outbox -> broker -> intake's inbox and handler."""

from __future__ import annotations

import threading
import uuid
from datetime import date
from pathlib import Path

from services.catalog import load_spec
from shared.config import Settings
from shared.messaging.topology import Topology
from shared.service import ServiceRuntime, subscriptions
from shared.web import mint_token
from tests.support.backends import Backend
from tests.support.platform import wait_until


def test_review_due_from_planning_orders_the_intake_caseload(
    backend: Backend, data_dir: Path
) -> None:
    exchange = f"casehub.test.{uuid.uuid4().hex[:8]}"
    specs = {name: load_spec(name) for name in ("intake", "planning")}
    runtimes = {}
    for name, spec in specs.items():
        settings = Settings(
            service=name,
            data_dir=data_dir,
            database_url=backend.new_database(name, data_dir),
            broker_url=backend.broker_url,
            exchange=exchange,
            retry_delays=(0.2,),
            embedded_polling_interval=0.02,
            broker_connect_timeout=2,
        )
        topology = Topology.build(
            exchange, subscriptions(list(specs.values())), settings.retry_delays
        )
        runtimes[name] = ServiceRuntime(spec, settings, topology)
        runtimes[name].migrate()
    intake, planning = runtimes["intake"], runtimes["planning"]
    http = intake.create_app().test_client()

    def as_(sub: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(intake.settings, sub, [role])}"}

    http.put(
        "/case-managers/cm-1",
        headers=as_("sup-1", "supervisor"),
        json={"display_name": "CM", "team": "north", "supervisor_id": "sup-1"},
    )
    client = http.post(
        "/clients",
        headers=as_("iw-1", "intake_worker"),
        json={"given_name": "Alex", "family_name": "Rivera", "date_of_birth": "1988-04-12"},
    ).json
    http.post(
        f"/clients/{client['id']}/assignment",
        headers=as_("iw-1", "intake_worker"),
        json={"case_manager_id": "cm-1"},
    )
    with planning.unit_of_work() as uow:
        uow.publish(
            "casehub.planning.review.due.v1",
            subject=f"client/{client['id']}",
            data={
                "review_id": "r-1",
                "plan_id": "p-1",
                "client_id": client["id"],
                "episode_id": client["episodes"][0]["id"],
                "due_on": date(2027, 2, 1),
                "case_manager_id": "cm-1",
            },
        )

    stop = threading.Event()
    workers = [
        threading.Thread(target=target, args=(stop,), daemon=True)
        for target in (planning.relay().run, intake.relay().run, intake.consumer().run)
    ]
    for worker in workers:
        worker.start()
    try:

        def review_shown() -> bool:
            caseload = http.get(
                "/case-managers/cm-1/caseload", headers=as_("cm-1", "case_manager")
            ).json
            return bool(caseload) and caseload[0]["next_review_due"] == "2027-02-01"

        assert wait_until(review_shown, timeout=30)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=15)
        if backend.is_real:
            from shared.messaging.broker import open_connection

            connection = open_connection(intake.settings)
            channel = connection.channel()
            for name in specs:
                topology = intake.topology
                for queue in [
                    topology.queue_name(name),
                    topology.dlq_name(name),
                    *topology.retry_queue_names(name),
                ]:
                    channel.queue_delete(queue)
            channel.exchange_delete(exchange)
            connection.release()
