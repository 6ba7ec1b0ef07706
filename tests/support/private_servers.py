"""A RabbitMQ node or a PostgreSQL cluster of a test's own, so fault tests can stop and restart
a real server without touching the shared ones other tests (and other people) are using."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from tests.support.ports import free_port


def _missing(*commands: str) -> str | None:
    absent = [command for command in commands if shutil.which(command) is None]
    return f"not installed: {', '.join(absent)}" if absent else None


class PrivateRabbitMQ:
    """A second RabbitMQ node on its own ports and data folder; ``stop_app``/``start_app`` as an
    operator would, so quorum queues and their messages survive like on a real restart."""

    def __init__(self, name: str = "casehub-fault", extra_config: str = "") -> None:
        self.folder = folder = _server_folder("casehub-rabbitmq-")
        self.node = f"{name}-{uuid.uuid4().hex[:6]}@localhost"
        self.port = free_port()
        (folder / "enabled_plugins").write_text("[].\n")
        (folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n{extra_config}"
        )
        _owned_by_rabbitmq(folder)
        self.environment = {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(folder / "log"),
            "RABBITMQ_PID_FILE": str(folder / "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(folder / "rabbitmq-env.conf"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    @staticmethod
    def unavailable() -> str | None:
        return _missing("rabbitmq-server", "rabbitmqctl")

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def ctl(self, *arguments: str, timeout: float = 60) -> str:
        return subprocess.run(
            ["rabbitmqctl", "-q", "-n", self.node, *arguments],
            env=self.environment,
            check=True,
            capture_output=True,
            timeout=timeout,
            text=True,
        ).stdout

    def launch(self) -> None:
        """Start the node's VM; ``start`` also waits for it to be up."""
        subprocess.Popen(
            ["rabbitmq-server"],
            env=self.environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def start(self) -> None:
        self.launch()
        self.await_startup()

    def await_startup(self) -> None:
        deadline = time.monotonic() + 90
        while True:
            try:
                self.ctl("await_startup", "--timeout", "60", timeout=70)
                return
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def stop_app(self) -> None:
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self.ctl("await_startup", "--timeout", "60", timeout=70)

    def shutdown(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self.ctl("stop", timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


class RabbitMQCluster:
    """Three RabbitMQ nodes of a test's own on this machine, each with its node name, ports,
    config file and data folder, joined into one cluster: quorum queues declared on it have a
    member on every node, so one node can stop without the queues stopping."""

    def __init__(self, size: int = 3) -> None:
        self.nodes = [PrivateRabbitMQ(name=f"casehub-c{n + 1}") for n in range(size)]

    @property
    def url(self) -> str:
        """A failover URL: kombu connects to the first node that answers, in this order."""
        return ";".join(node.url for node in self.nodes)

    def start(self) -> None:
        for node in self.nodes:
            node.launch()
        for node in self.nodes:
            node.await_startup()
        first = self.nodes[0]
        for node in self.nodes[1:]:
            node.ctl("stop_app")
            node.ctl("join_cluster", first.node)
            node.start_app()
        assert set(self.running_nodes()) == {node.node for node in self.nodes}

    def running_nodes(self, asking: PrivateRabbitMQ | None = None) -> list[str]:
        status = json.loads((asking or self.up_node()).ctl("cluster_status", "--formatter", "json"))
        return list(status["running_nodes"])

    def up_node(self, besides: PrivateRabbitMQ | None = None) -> PrivateRabbitMQ:
        """A node to ask about the cluster: the first one that answers."""
        for node in self.nodes:
            if node is besides:
                continue
            try:
                node.ctl("status", timeout=30)
                return node
            except subprocess.SubprocessError:
                continue
        raise RuntimeError("no node of the cluster answers")

    def node_named(self, name: str) -> PrivateRabbitMQ:
        return next(node for node in self.nodes if node.node == name)

    def queues(self, asking: PrivateRabbitMQ | None = None) -> dict[str, dict[str, Any]]:
        """Each quorum queue's leader and members, by queue name."""
        listed = json.loads(
            (asking or self.up_node()).ctl(
                "list_queues", "name", "leader", "members", "type", "--formatter", "json"
            )
        )
        return {queue["name"]: queue for queue in listed}

    def shutdown(self) -> None:
        for node in self.nodes:
            node.shutdown()


class PrivatePostgres:
    """A PostgreSQL cluster of its own (initdb in a temporary folder), run by the postgres user."""

    def __init__(self) -> None:
        self.folder = _server_folder("casehub-postgres-")
        self.port = free_port()

    @staticmethod
    def unavailable() -> str | None:
        if _postgres_bin() is None:
            return "PostgreSQL server binaries (initdb, pg_ctl) not found"
        return _missing("runuser") if os.geteuid() == 0 else None

    @property
    def bin(self) -> Path:
        found = _postgres_bin()
        assert found is not None
        return found

    def _as_postgres(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        data = self.folder / "data"
        if not data.exists():
            self._as_postgres(
                str(self.bin / "initdb"),
                *("-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"),
            )
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            *("-D", str(data), "-l", str(self.folder / "server.log"), "-w", "start"),
            "-o",
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off",
        )

    def stop(self) -> None:
        """A fast shutdown: sessions are cut, as in a restart for maintenance or a failover."""
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop"
        )

    def new_database(self, name: str) -> str:
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def shutdown(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _owned_by_rabbitmq(folder: Path) -> None:
    """The node runs as the rabbitmq user (the server script switches to it when run as root)."""
    if os.geteuid() != 0:
        return
    with contextlib.suppress(LookupError, OSError):
        for path in [folder, *folder.rglob("*")]:
            shutil.chown(path, "rabbitmq", "rabbitmq")


def _server_folder(prefix: str) -> Path:
    """Outside pytest's private tmp tree: the servers run as their own users and must reach it."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o777)
    return folder


def _postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return next((c for c in candidates if (c / "initdb").exists()), None)
