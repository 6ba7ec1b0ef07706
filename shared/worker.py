"""A service's worker process: the outbox relay and the consumers, stopped cleanly by SIGTERM."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from functools import partial

from shared.db import CommitSignal
from shared.idempotency import remove_expired
from shared.logging import get_logger
from shared.messaging.broker import is_embedded, open_connection
from shared.service import PeriodicTask, ServiceRuntime

log = get_logger(__name__)


def remove_expired_idempotency_keys(runtime: ServiceRuntime) -> int:
    return remove_expired(runtime.database, runtime.spec.tables.idempotency_keys)


#: What every service's worker does besides its own periodic tasks.
HOUSEKEEPING = (PeriodicTask("idempotency-key-expiry", 3600, remove_expired_idempotency_keys),)


def run_periodic(runtime: ServiceRuntime, task: PeriodicTask, stop: threading.Event) -> None:
    signal = CommitSignal(runtime.database, task.woken_by) if task.woken_by else None
    try:
        while True:
            if signal is not None and signal.listening:
                signal.wait(task.every_seconds)
                if stop.is_set():
                    break
            elif stop.wait(task.every_seconds):
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


def run_worker(runtime: ServiceRuntime, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
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
    log.info("worker.started", service=runtime.spec.name, threads=[t.name for t in threads])
    while not stop.wait(0.5):
        dead = [thread.name for thread in threads if not thread.is_alive()]
        if dead:
            log.error("worker.thread_died", threads=dead)
            stop.set()
    for thread in threads:
        thread.join(timeout=30)
    log.info("worker.stopped", service=runtime.spec.name)
