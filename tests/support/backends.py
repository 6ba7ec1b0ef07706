"""Where tests find PostgreSQL and RabbitMQ: environment first, then testcontainers, else embedded."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

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
