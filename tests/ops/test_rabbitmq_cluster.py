"""Casehub on a three-node RabbitMQ cluster on this machine (CASEHUB_BROKER_URL naming all three):
quorum queues replicated on every node, the node leading them stopped in the middle of a stream
of writes, and a node restarted: every event is consumed, once, and none is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.reliability.conftest import (
    Workload,
    hire_case_managers,
    inbox_ids,
    outbox_ids_for,
    plans_per_client,
    unpublished,
)
from tests.support.backends import Backend
from tests.support.platform import wait_until
from tests.support.private_servers import PrivateRabbitMQ, RabbitMQCluster
from tests.support.processes import ProcessPlatform

SERVICES = ["intake", "planning", "notifications"]
CONSUMERS = ("planning", "notifications")
REGISTERED_ONLY, ASSESSED = 40, 120  # 40 + 120 * 3 = 400 writes


@pytest.fixture
def cluster() -> Iterator[RabbitMQCluster]:
    missing = PrivateRabbitMQ.unavailable()
    if missing:
        pytest.fail(f"the cluster test starts three RabbitMQ nodes of its own: {missing}")
    nodes = RabbitMQCluster(3)
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.shutdown()


@pytest.fixture
def platform(
    backend: Backend, real_only: None, data_dir: Path, cluster: RabbitMQCluster
) -> Iterator[ProcessPlatform]:
    databases = {name: backend.new_database(name, data_dir) for name in SERVICES}
    running = ProcessPlatform(cluster.url, databases, data_dir)
    running.start()
    yield running
    running.stop()


def _replicated_queues(platform: ProcessPlatform, cluster: RabbitMQCluster) -> dict[str, str]:
    """Each consumer's queue: on all three nodes, a quorum queue; returns its leader node."""
    queues = cluster.queues()
    leaders = {}
    for name in CONSUMERS:
        queue = queues[platform.topology().queue_name(name)]
        assert queue["type"] == "quorum"
        assert sorted(queue["members"]) == sorted(node.node for node in cluster.nodes)
        leaders[name] = queue["leader"]
    return leaders


def _everything_consumed_once(platform: ProcessPlatform) -> bool:
    return unpublished(platform, "intake") == 0 and all(
        inbox_ids(platform, consumer) == outbox_ids_for(platform, consumer)
        for consumer in CONSUMERS
    )


def _write_while(
    platform: ProcessPlatform, fault: Callable[[], None], at_write: int
) -> tuple[Workload, int]:
    """The workload runs; at ``at_write`` writes the fault happens while the writes go on."""
    load = Workload(platform)
    writer = threading.Thread(target=load.run, args=(REGISTERED_ONLY, ASSESSED))
    writer.start()
    assert wait_until(lambda: load.done >= at_write, timeout=120)
    fault()
    written_at_fault = load.done
    writer.join(timeout=300)
    assert not writer.is_alive()
    return load, written_at_fault


def _assert_nothing_lost_or_repeated(
    platform: ProcessPlatform, load: Workload, earlier: Workload | None = None
) -> None:
    assert load.done == REGISTERED_ONLY + 3 * ASSESSED
    assert load.server_errors == 0 and set(load.statuses) <= {200, 201}, load.statuses
    assert wait_until(lambda: _everything_consumed_once(platform), timeout=180, interval=0.5)
    plans = plans_per_client(platform)
    clients = set(load.client_ids) | set(earlier.client_ids if earlier else [])
    assert set(plans) == clients and set(plans.values()) == {1}


@pytest.mark.slow
def test_the_leader_stopped_then_a_node_restarted_mid_stream_every_event_consumed_once(
    platform: ProcessPlatform,
    cluster: RabbitMQCluster,
    record_property: Callable[[str, object], None],
) -> None:
    """Two streams of writes on one platform: during the first the node leading the queues
    stops (and stays down); it comes back, and during the second another node is restarted."""
    hire_case_managers(platform)
    leaders = _replicated_queues(platform, cluster)
    leader = cluster.node_named(leaders["planning"])
    survivor = next(node for node in cluster.nodes if node is not leader)

    first, written_at_stop = _write_while(platform, leader.stop_app, at_write=100)
    assert written_at_stop < first.done  # the writes went on after the node stopped
    assert leader.node not in cluster.running_nodes(survivor)
    _assert_nothing_lost_or_repeated(platform, first)
    queues = cluster.queues(survivor)
    for name in CONSUMERS:  # a leader elected on a running node, the members kept
        assert queues[platform.topology().queue_name(name)]["leader"] != leader.node

    leader.start_app()
    assert wait_until(lambda: len(cluster.running_nodes()) == 3, timeout=60)
    restarted = cluster.node_named(_replicated_queues(platform, cluster)["notifications"])

    def restart() -> None:
        restarted.stop_app()
        assert wait_until(lambda: restarted.node not in cluster.running_nodes(), timeout=30)
        restarted.start_app()

    second, _ = _write_while(platform, restart, at_write=100)
    assert set(cluster.running_nodes()) == {node.node for node in cluster.nodes}
    _assert_nothing_lost_or_repeated(platform, second, earlier=first)
    _replicated_queues(platform, cluster)  # back to three replicas
    record_property(
        "faults",
        f"RabbitMQ cluster of 3: the queues' leader stopped after {written_at_stop} of "
        f"{first.done} writes, then a node restarted during {second.done} more; every event "
        f"consumed once, {len(plans_per_client(platform))} plans (duplicates 0)",
    )
