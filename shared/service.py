"""What a service is to the platform, and what one process of it needs at run time."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any

from kombu import Connection
from sqlalchemy import MetaData

from shared import crypto, metrics
from shared.clock import SYSTEM_CLOCK, Clock
from shared.config import Settings
from shared.contracts import REGISTRY, ContractRegistry
from shared.db import CommitNotifier, Database
from shared.errors import CasehubError
from shared.messaging.archive import EventArchive, open_archive
from shared.messaging.broker import open_connection, ping_broker
from shared.messaging.consumer import EventConsumer
from shared.messaging.outbox import OutboxWriter, measure_outbox_lag, notification_channel
from shared.messaging.relay import OutboxRelay
from shared.messaging.retry_pump import DelayedRetryPump
from shared.messaging.subscription import Handler, Subscription
from shared.messaging.tables import MessagingTables
from shared.messaging.topology import Topology
from shared.outbound import OutboundGuard
from shared.retention import ErasedAmong
from shared.unit_of_work import AuditedRead, UnitOfWork, audited_read, unit_of_work


class ConfigurationProblem(RuntimeError):
    """A setting a real deployment must give is missing or a placeholder."""


@dataclass(frozen=True)
class PeriodicTask:
    """Work the worker repeats (e.g. announcing expired consents); it must be safe to run in
    several workers at once, which the task's own transaction ensures (SKIP LOCKED, flags)."""

    name: str
    every_seconds: float
    run: Callable[[ServiceRuntime], object]
    #: A ``signal_on_commit`` channel that runs the task at once (PostgreSQL), e.g. the
    #: notification dispatcher when a crisis alert is recorded; the interval stays the fallback.
    woken_by: str | None = None


@dataclass(frozen=True)
class ServiceSpec:
    """A service as one small description: its tables, handlers, HTTP blueprints and migrations."""

    name: str
    title: str
    description: str
    metadata: MetaData
    tables: MessagingTables
    #: Routing key -> handler. With ``bootstrap``, each handler also takes the service's
    #: settings and the clock (``handler(event, uow, settings=..., clock=...)``). A
    #: ``Subscription`` adds a hook for consecutive events of its type handled together.
    handlers: Mapping[str, Callable[..., None]]
    #: flask-smorest blueprints (the platform core does not import the web framework).
    blueprints: Sequence[Any] = ()
    migrations: Path | None = None
    periodic_tasks: Sequence[PeriodicTask] = ()
    registry: ContractRegistry = field(default=REGISTRY)
    #: Extra wiring of the Flask app (e.g. accepting partners' API keys).
    configure_app: Callable[[Any, ServiceRuntime], None] | None = None
    #: Builds the service's HTTP app from a runtime (``shared.web.service_app.build_app``); the
    #: spec names it so the platform core never imports the web layer.
    build_app: Callable[[ServiceRuntime], Any] | None = None
    #: Domain errors (plain exceptions of ``domain.py``) -> the refusal each is to its caller: one
    #: table per service, applied to every view, instead of try/except at each call site.
    refusals: Mapping[type[Exception], Callable[[Any], CasehubError]] = field(default_factory=dict)
    #: Builds the service's own settings once per process, from the environment at start (never
    #: per event or per request), as cosmicpython's ``bootstrap.py`` does.
    bootstrap: Callable[[ServiceRuntime], object] | None = None
    #: Figures read from the service's database when Prometheus scrapes (e.g. unacknowledged
    #: crisis alerts), on its API's and its worker's /metrics.
    scrape_hooks: Sequence[Callable[[ServiceRuntime], None]] = ()
    #: Settings a real deployment must give, each check answering setting name -> why it is
    #: unusable (None when fine): reported on /readyz, counted in casehub_configuration_problem
    #: and logged at start; a worker with a problem is not ready, so a rollout stops there.
    configuration_checks: Sequence[Callable[[ServiceRuntime], Mapping[str, str | None]]] = ()
    #: Which of some client ids the service has erased (``shared.retention``): its consumer
    #: records later events about them without running them, so nothing erased comes back.
    erased_among: ErasedAmong | None = None
    #: Operator commands run by ``casehub <service> <command>`` (e.g. reporting's ``rebuild``),
    #: each answering the line to print; named here so the command line imports no service.
    maintenance: Mapping[str, Callable[[ServiceRuntime], str]] = field(default_factory=dict)


@dataclass(frozen=True)
class FrontendSpec:
    """A browser app in front of the services (``services/web``): it handles no events and keeps
    only its own sessions, so it is not a :class:`ServiceSpec`; the command line starts and
    migrates it through this description instead of importing it."""

    name: str
    port: int
    #: Settings from the environment for a process bound to this host; they answer
    #: ``.platform`` (the shared :class:`Settings`) and ``.startup_problem()``.
    load_settings: Callable[[str], Any]
    create_app: Callable[[Any], Any]
    #: Creates the session store's tables if missing.
    migrate: Callable[[Any], None]
    #: Whether the session store's tables exist (a release's init container waits on it).
    migrated: Callable[[Any], bool]


class ServiceRuntime:
    """Everything a process of one service uses, created lazily (safe across gunicorn forks)."""

    def __init__(
        self,
        spec: ServiceSpec,
        settings: Settings,
        topology: Topology,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.spec = spec
        self.settings = settings
        self.topology = topology
        #: The one clock the service's views, handlers and periodic tasks read.
        self.clock = clock
        self.database = Database(settings.database_url)
        #: The keys of the encrypted clinical fields (a bad key fails here, at start).
        self.keyring = crypto.use_keys(settings.encryption_keys)
        #: Where webhooks may go: checked at registration (API) and at each delivery (worker).
        self.outbound = OutboundGuard.for_settings(settings)
        #: The service's own settings, built once here (None for a service without any).
        self.service_settings: Any = spec.bootstrap(self) if spec.bootstrap else None

    @cached_property
    def outbox(self) -> OutboxWriter:
        return OutboxWriter(
            self.spec.name,
            self.spec.tables.outbox,
            self.spec.registry,
            notifier=CommitNotifier(
                self.database,
                notification_channel(self.spec.name),
                min_interval=self.settings.relay_wake_interval,
            )
            if self.database.is_postgresql
            else None,
        )

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        return unit_of_work(self.database, self.outbox, self.spec.tables.idempotency_keys)

    def audited_read(self) -> AbstractContextManager[AuditedRead]:
        return audited_read(self.database)

    @contextmanager
    def units_of_work_on_one_connection(
        self,
    ) -> Iterator[Callable[[], AbstractContextManager[UnitOfWork]]]:
        """Units of work one after another on one connection: a loop of short transactions (the
        dispatcher's one per email) skips the pool's checkout for each."""
        with self.database.engine.connect() as connection:
            yield partial(unit_of_work, self.database, self.outbox, connection=connection)

    def create_app(self) -> Any:
        """The service's WSGI app (a Flask app built by the spec's ``build_app``)."""
        if self.spec.build_app is None:
            raise LookupError(f"the {self.spec.name} service has no HTTP app")
        return self.spec.build_app(self)

    def handlers(self) -> dict[str, Handler]:
        """The spec's handlers with the service's settings handed in (see ``bootstrap``)."""
        if self.spec.bootstrap is None:
            return dict(self.spec.handlers)
        options = {"settings": self.service_settings, "clock": self.clock}
        return {
            key: handler.bind(**options)
            if isinstance(handler, Subscription)
            else partial(handler, **options)
            for key, handler in self.spec.handlers.items()
        }

    def connect_broker(self) -> Connection:
        return open_connection(self.settings)

    def event_archive(self) -> EventArchive:
        """Every event published on the platform's exchange, in order (the stream, or the
        embedded default's folder): what a read model is rebuilt from."""
        return open_archive(self.settings, self.topology, self.connect_broker)

    def relay(self) -> OutboxRelay:
        return OutboxRelay(
            self.settings,
            self.database,
            self.spec.tables,
            self.topology,
            self.outbox,
            self.connect_broker,
        )

    def consumer(self, **options: object) -> EventConsumer:
        return EventConsumer(
            self.settings,
            self.database,
            self.spec.tables,
            self.topology,
            self.spec.registry,
            self.handlers(),
            self.outbox,
            connection_factory=self.connect_broker,
            **{"erased_among": self.spec.erased_among, **options},  # type: ignore[arg-type]
        )

    def retry_pump(self) -> DelayedRetryPump:
        return DelayedRetryPump(self.settings, self.topology, self.connect_broker)

    def readiness_checks(self) -> dict[str, Callable[[], None]]:
        """What a process needs to serve: its database."""
        return {"database": self.database.ping}

    def reported_checks(self) -> dict[str, Callable[[], None]]:
        """What /readyz reports without leaving service: the outbox holds writes meanwhile."""
        return {"broker": lambda: ping_broker(self.settings)}

    def configuration_review(self) -> dict[str, str | None]:
        """Every setting this deployment must give -> why it is unusable, or None when fine."""
        review: dict[str, str | None] = {}
        for check in self.spec.configuration_checks:
            review.update(check(self))
        return review

    def configuration_problems(self) -> dict[str, str]:
        return {name: why for name, why in self.configuration_review().items() if why}

    def configuration_checks(self) -> dict[str, Callable[[], None]]:
        """One readiness check per configuration check of the spec (none for most services)."""
        if not self.spec.configuration_checks:
            return {}

        def configuration() -> None:
            problems = self.configuration_problems()
            if problems:
                raise ConfigurationProblem("; ".join(problems.values()))

        return {"configuration": configuration}

    def measure_outbox(self) -> tuple[int, float]:
        return measure_outbox_lag(self.database, self.spec.tables.outbox, self.spec.name)

    def measure_queues(self) -> None:
        """Depth of the service's queue and dead-letter queue, asked of the broker (passive
        declares, which never create anything)."""
        if self.spec.name not in self.topology.subscriptions:
            return
        connection = open_connection(self.settings, quick=True)
        try:
            channel = connection.default_channel
            for role, name in (
                ("events", self.topology.queue_name(self.spec.name)),
                ("dlq", self.topology.dlq_name(self.spec.name)),
            ):
                declared = channel.queue_declare(queue=name, passive=True)
                metrics.QUEUE_MESSAGES.labels(self.spec.name, role).set(declared.message_count)
        finally:
            connection.release()

    def scrape_hooks(self, *, queues: bool = False) -> list[Callable[[], None]]:
        """What to read afresh before each scrape: the outbox lag, the service's own figures,
        and with ``queues`` (the worker) the depth of its queues."""

        def outbox_lag() -> None:
            self.measure_outbox()

        def configuration() -> None:
            for setting, why in self.configuration_review().items():
                metrics.CONFIGURATION_PROBLEM.labels(self.spec.name, setting).set(1 if why else 0)

        hooks: list[Callable[[], None]] = [outbox_lag]
        if self.spec.configuration_checks:
            hooks.append(configuration)
        hooks += [partial(hook, self) for hook in self.spec.scrape_hooks]
        if queues:
            hooks.append(self.measure_queues)
        return hooks

    def create_schema(self) -> None:
        """Tables straight from the models, for tests of services without migrations."""
        self.spec.metadata.create_all(self.database.engine)

    def migrate(self) -> None:
        if self.spec.migrations is None:
            self.create_schema()
            return
        from shared.migrations import upgrade

        upgrade(self.spec.migrations, self.database.url)


def subscriptions(specs: Iterator[ServiceSpec] | list[ServiceSpec]) -> dict[str, list[str]]:
    """The routing keys each service's handlers name: its queue's bindings."""
    return {spec.name: sorted(spec.handlers) for spec in specs}
