"""A service's worker process: the outbox relay and the consumers, stopped cleanly by SIGTERM,
with /metrics, /healthz and /readyz on a port of its own (it serves no other HTTP)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import delete

from shared import metrics
from shared.config import WORKER_METRICS_PORTS
from shared.db import CommitSignal
from shared.health import run_readiness_checks
from shared.idempotency import remove_expired
from shared.logging import get_logger
from shared.messaging.broker import is_embedded, open_connection
from shared.service import PeriodicTask, ServiceRuntime
from shared.tracing import configure_tracing

log = get_logger(__name__)


def remove_expired_idempotency_keys(runtime: ServiceRuntime) -> int:
    return remove_expired(runtime.database, runtime.spec.tables.idempotency_keys)


def remove_old_inbox_entries(runtime: ServiceRuntime, now: datetime | None = None) -> int:
    """Handled event ids older than the inbox retention go, so the table stays flat under load;
    the window is never shorter than the outbox's plus a day, because a republish from an
    outbox must still find its events here and skip them."""
    settings = runtime.settings
    days = max(settings.inbox_retention_days, settings.outbox_retention_days + 1)
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    inbox = runtime.spec.tables.inbox
    with runtime.database.session() as session, session.begin():
        result = session.execute(delete(inbox).where(inbox.c.received_at < cutoff))
    return result.rowcount or 0


#: What every service's worker does besides its own periodic tasks.
HOUSEKEEPING = (
    PeriodicTask("idempotency-key-expiry", 3600, remove_expired_idempotency_keys),
    PeriodicTask("inbox-expiry", 3600, remove_old_inbox_entries),
)


#: How long after a worker starts its periodic tasks first run (at most: a task due more often
#: runs at its own interval). Not a whole interval: a worker restarted more often than hourly
#: (deploys, scaling down) would otherwise never run an hourly task such as retention.
FIRST_RUN_AFTER_SECONDS = 5.0


def run_periodic(runtime: ServiceRuntime, task: PeriodicTask, stop: threading.Event) -> None:
    signal = CommitSignal(runtime.database, task.woken_by) if task.woken_by else None
    first = True
    try:
        while True:
            wait = min(task.every_seconds, FIRST_RUN_AFTER_SECONDS) if first else task.every_seconds
            first = False
            if signal is not None and signal.listening:
                signal.wait(wait)
                if stop.is_set():
                    break
            elif stop.wait(wait):
                break
            try:
                task.run(runtime)
            except Exception as error:
                log.warning("worker.periodic_task_failed", task=task.name, error=repr(error))
    finally:
        if signal is not None:
            signal.close()


def worker_threads(runtime: ServiceRuntime, stop: threading.Event) -> list[threading.Thread]:
    """Relay always; a consumer if the service handles events; a retry pump on the embedded broker."""
    name = runtime.spec.name
    targets: list[tuple[str, Callable[[threading.Event], None]]] = [("relay", runtime.relay().run)]
    if runtime.spec.handlers:
        targets.append(("consumer", runtime.consumer().run))
        if runtime.settings.uses_embedded_broker:
            targets.append(("retry-pump", runtime.retry_pump().run))
    for task in (*runtime.spec.periodic_tasks, *HOUSEKEEPING):
        targets.append((task.name, partial(run_periodic, runtime, task)))
    return [
        threading.Thread(target=target, args=(stop,), name=f"{name}-{role}", daemon=True)
        for role, target in targets
    ]


def worker_metrics_port(runtime: ServiceRuntime) -> int | None:
    """``CASEHUB_METRICS_PORT``, else the service's default worker port (9101 for intake…)."""
    return runtime.settings.metrics_port or WORKER_METRICS_PORTS.get(runtime.spec.name)


def start_metrics_server(
    runtime: ServiceRuntime,
    threads: Sequence[threading.Thread],
    stop: threading.Event,
    port: int,
    host: str | None = None,
) -> metrics.MetricsServer | None:
    """Probes and metrics for the worker. /healthz fails once a worker thread has died (the
    process is about to exit) or it is stopping; /readyz needs the database, reports the broker;
    /metrics adds the outbox lag and queue depths, read at scrape time."""
    service = runtime.spec.name

    def health() -> tuple[bool, dict[str, str]]:
        dead = sorted(thread.name for thread in threads if not thread.is_alive())
        details = {"threads": "ok" if not dead else f"stopped: {', '.join(dead)}"}
        if stop.is_set():
            details["worker"] = "stopping"
        return not dead and not stop.is_set(), details

    def readiness() -> tuple[bool, dict[str, str]]:
        alive, details = health()
        # A configuration problem makes the worker unready: a rollout stops until it is fixed.
        required = run_readiness_checks(
            {**runtime.readiness_checks(), **runtime.configuration_checks()}, service
        )
        reported = run_readiness_checks(runtime.reported_checks(), service)
        ok = alive and all(result == "ok" for result in required.values())
        return ok, {**details, **required, **reported}

    try:
        server = metrics.MetricsServer(
            host or runtime.settings.metrics_host,
            port,
            hooks=runtime.scrape_hooks(queues=True),
            health=health,
            readiness=readiness,
        )
    except OSError as error:
        # A second worker on one machine (the embedded default) finds the port taken: it runs
        # on without, as before; in a pod the probes then fail, which is the alarm wanted there.
        log.warning("worker.metrics_port_unavailable", port=port, error=repr(error))
        return None
    log.info("worker.metrics_serving", port=server.port)
    return server.start()


def run_worker(
    runtime: ServiceRuntime,
    stop: threading.Event | None = None,
    *,
    metrics_port: int | None = None,
) -> None:
    """Until SIGTERM (or ``stop``): every worker thread, and the metrics server on
    ``metrics_port`` (default ``worker_metrics_port``; 0 for none)."""
    configure_tracing(runtime.spec.name)
    stop = stop or threading.Event()
    for setting, why in runtime.configuration_problems().items():
        log.error("worker.configuration_problem", setting=setting, problem=why)
    try:
        connection = open_connection(runtime.settings)
        try:
            runtime.topology.declare(connection)
            log.info("worker.topology_declared", embedded=is_embedded(connection))
        finally:
            connection.release()
    except Exception as error:
        log.warning("worker.broker_unavailable_at_start", error=repr(error))

    def request_stop(signum: int, _frame: object) -> None:
        log.info("worker.stopping", signal=signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
    threads = worker_threads(runtime, stop)
    for thread in threads:
        thread.start()
    port = worker_metrics_port(runtime) if metrics_port is None else metrics_port
    server = start_metrics_server(runtime, threads, stop, port) if port else None
    log.info("worker.started", service=runtime.spec.name, threads=[t.name for t in threads])
    while not stop.wait(0.5):
        dead = [thread.name for thread in threads if not thread.is_alive()]
        if dead:
            log.error("worker.thread_died", threads=dead)
            stop.set()
    for thread in threads:
        thread.join(timeout=30)
    if server is not None:
        server.stop()
    log.info("worker.stopped", service=runtime.spec.name)
