"""Several real services on one backend with their own databases, an isolated exchange, and
their workers (relay + consumer) as threads, as the worker process would run them."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from services.catalog import load_spec
from shared.config import Settings
from shared.messaging.broker import open_connection
from shared.messaging.topology import Topology
from shared.service import ServiceRuntime, subscriptions
from shared.worker import worker_threads
from tests.support.backends import Backend, fresh_database


class RunningServices:
    def __init__(
        self,
        backend: Backend,
        data_dir: Path,
        names: Iterable[str],
        configure: Callable[[Settings], Settings] | None = None,
    ) -> None:
        """``configure`` may change each service's settings (log level, credentials in URLs)."""
        self.backend = backend
        self.exchange = f"casehub.test.{uuid.uuid4().hex[:8]}"
        specs = {name: load_spec(name) for name in names}
        self.runtimes: dict[str, ServiceRuntime] = {}
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        for name, spec in specs.items():
            settings = Settings(
                service=name,
                data_dir=data_dir,
                database_url=fresh_database(backend, spec, data_dir),
                broker_url=backend.broker_url,
                exchange=self.exchange,
                retry_delays=(0.2,),
                embedded_polling_interval=0.02,
                broker_connect_timeout=2,
                relay_poll_interval=0.2,
            )
            if configure is not None:
                settings = configure(settings)
            topology = Topology.build(
                self.exchange, subscriptions(list(specs.values())), settings.retry_delays
            )
            self.runtimes[name] = ServiceRuntime(spec, settings, topology)
            if spec.migrations is None:
                self.runtimes[name].migrate()

    def __getitem__(self, name: str) -> ServiceRuntime:
        return self.runtimes[name]

    def start_workers(self) -> None:
        """Each service's worker threads exactly as ``casehub worker`` runs them."""
        for runtime in self.runtimes.values():
            for thread in worker_threads(runtime, self.stop):
                thread.start()
                self.threads.append(thread)

    def shutdown(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)
        if not self.backend.is_real:
            return
        any_runtime = next(iter(self.runtimes.values()))
        connection = open_connection(any_runtime.settings)
        try:
            channel = connection.channel()
            topology = any_runtime.topology
            for name in topology.subscriptions:
                for queue in topology.queue_names(name):
                    channel.queue_delete(queue)
            channel.queue_delete(topology.archive_name)
            channel.exchange_delete(self.exchange)
        finally:
            connection.release()
