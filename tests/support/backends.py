"""Where tests find PostgreSQL and RabbitMQ: environment first, then testcontainers, else embedded."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

REAL = "postgresql+rabbitmq"
EMBEDDED = "embedded"


@dataclass
class Backend:
    """One kind of infrastructure: real servers, or SQLite files and the filesystem broker."""

    kind: str
    broker_url: str
    admin_database_url: str | None = None
    _created: list[str] = field(default_factory=list)

    @property
    def is_real(self) -> bool:
        return self.kind == REAL

    def new_database(self, name: str, folder: Path) -> str:
        if self.admin_database_url is None:
            return f"sqlite:///{folder / name}.db"
        database = f"casehub_t_{name}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(self._admin_conninfo(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        self._created.append(database)
        return self._url_of(database)

    def migrated_database(self, service: str, migrations: Path, folder: Path) -> str:
        """A new database already at the head of ``service``'s migrations: a copy of a template
        this process migrated once. The suite makes a database for every service a test starts;
        running the whole migration history each time (18 migrations for intake, tables rebuilt
        on SQLite) took more of the suite's time than the tests did. The copy is byte for byte
        what the migrations made; tests of the migrations themselves still run them
        (tests/support/migrations.py, ``casehub migrate`` in the process tests)."""
        template = _template(self, service, migrations)
        if self.admin_database_url is None:
            target = folder / f"{service}.db"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(template, target)
            return f"sqlite:///{target}"
        database = f"casehub_t_{service}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(self._admin_conninfo(), autocommit=True) as connection:
            for attempt in range(50):
                try:
                    connection.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
                    break
                except psycopg.errors.ObjectInUse:
                    # PostgreSQL copies a template only while nobody is connected to it; the
                    # templates refuse connections, but an autovacuum worker may still be in one.
                    if attempt == 49:
                        raise
                    time.sleep(0.1)
        self._created.append(database)
        return self._url_of(database)

    def _url_of(self, database: str) -> str:
        url = make_url(self.admin_database_url).set(
            database=database, drivername="postgresql+psycopg"
        )
        return url.render_as_string(hide_password=False)

    def _admin_conninfo(self) -> str:
        assert self.admin_database_url is not None
        url = make_url(self.admin_database_url).set(drivername="postgresql", database="postgres")
        return url.render_as_string(hide_password=False)

    def drop_databases(self) -> None:
        if self.admin_database_url is None:
            return
        with psycopg.connect(self._admin_conninfo(), autocommit=True) as connection:
            for database in self._created:
                connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        self._created.clear()


#: Migrated templates of this process: (backend kind, service) → SQLite file or database name.
_templates: dict[tuple[str, str], str] = {}
_template_folder: Path | None = None
_template_databases: list[tuple[str, str]] = []  # (admin conninfo, template database)


def _template(backend: Backend, service: str, migrations: Path) -> str:
    """Migrate a template once per process and kind of backend (per xdist worker, so workers never
    share one: PostgreSQL copies a template only while nobody else is connected to it)."""
    global _template_folder
    key = (backend.kind, service)
    if key in _templates:
        return _templates[key]
    from shared.migrations import upgrade

    if backend.admin_database_url is None:
        if _template_folder is None:
            _template_folder = Path(tempfile.mkdtemp(prefix="casehub-templates-"))
            atexit.register(shutil.rmtree, _template_folder, True)
        path = _template_folder / f"{service}.db"
        upgrade(migrations, f"sqlite:///{path}")
        _templates[key] = str(path)
        return str(path)
    name = f"casehub_tpl_{service}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(backend._admin_conninfo(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    _template_databases.append((backend._admin_conninfo(), name))
    upgrade(migrations, backend._url_of(name))
    with psycopg.connect(backend._admin_conninfo(), autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
    _templates[key] = name
    return name


def fresh_database(backend: Backend, spec: Any, folder: Path) -> str:
    """A database for a service under test: at its migrations' head when it has migrations."""
    if spec.migrations is None:
        return backend.new_database(spec.name, folder)
    return backend.migrated_database(spec.name, spec.migrations, folder)


def drop_templates() -> None:
    """The PostgreSQL templates this process made (at the end of the session)."""
    while _template_databases:
        conninfo, name = _template_databases.pop()
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(conninfo, autocommit=True) as connection,
        ):
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _templates.clear()


def _docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        return subprocess.run(["docker", "info"], capture_output=True, timeout=5).returncode == 0
    return False


_containers: list[object] = []


def real_backend() -> Backend | None:
    """Real PostgreSQL + RabbitMQ: from CASEHUB_TEST_*_URL, else containers when Docker answers."""
    database = os.environ.get("CASEHUB_TEST_DATABASE_URL")
    broker = os.environ.get("CASEHUB_TEST_BROKER_URL")
    if database and broker:
        return Backend(REAL, broker_url=broker, admin_database_url=database)
    if os.environ.get("CASEHUB_TEST_NO_CONTAINERS") or not _docker_answers():
        return None
    try:
        from testcontainers.postgres import PostgresContainer
        from testcontainers.rabbitmq import RabbitMqContainer
    except ImportError:
        return None
    postgres = PostgresContainer("postgres:16-alpine", driver="psycopg").start()
    rabbitmq = RabbitMqContainer("rabbitmq:3.13-management").start()
    _containers.extend([postgres, rabbitmq])
    params = rabbitmq.get_connection_params()
    broker = f"amqp://guest:guest@{params.host}:{params.port}//"
    return Backend(REAL, broker_url=broker, admin_database_url=postgres.get_connection_url())


def stop_containers() -> None:
    while _containers:
        _containers.pop().stop()  # type: ignore[attr-defined]


def embedded_backend() -> Backend:
    return Backend(EMBEDDED, broker_url="filesystem://")
