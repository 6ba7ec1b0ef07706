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


@pytest.fixture(scope="module")
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
    for node in cluster.nodes:  # every test starts on the whole cluster
        if node.node not in cluster.running_nodes():
            node.start_app()
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


def _assert_nothing_lost_or_repeated(platform: ProcessPlatform, load: Workload) -> None:
    assert load.done == REGISTERED_ONLY + 3 * ASSESSED
    assert load.server_errors == 0 and set(load.statuses) <= {200, 201}, load.statuses
    assert wait_until(lambda: _everything_consumed_once(platform), timeout=180, interval=0.5)
    plans = plans_per_client(platform)
    assert set(plans) == set(load.client_ids) and set(plans.values()) == {1}


@pytest.mark.slow
def test_the_node_leading_the_queues_stops_mid_stream_and_every_event_is_consumed_once(
    platform: ProcessPlatform,
    cluster: RabbitMQCluster,
    record_property: Callable[[str, object], None],
) -> None:
    hire_case_managers(platform)
    leaders = _replicated_queues(platform, cluster)
    leader = cluster.node_named(leaders["planning"])
    survivor = next(node for node in cluster.nodes if node is not leader)

    load, written_at_stop = _write_while(platform, leader.stop_app, at_write=100)
    assert written_at_stop < load.done  # the writes went on after the node stopped

    assert leader.node not in cluster.running_nodes(survivor)
    _assert_nothing_lost_or_repeated(platform, load)
    # the queues elected a leader on a node still running, and kept their members
    queues = cluster.queues(survivor)
    for name in CONSUMERS:
        assert queues[platform.topology().queue_name(name)]["leader"] != leader.node
    record_property(
        "faults",
        f"RabbitMQ cluster: leader {leader.node.split('@')[0]} stopped after {written_at_stop} "
        f"of {load.done} writes; every event consumed once, {len(plans_per_client(platform))} "
        "plans (duplicates 0)",
    )


@pytest.mark.slow
def test_a_node_restarted_mid_stream_loses_and_repeats_nothing(
    platform: ProcessPlatform, cluster: RabbitMQCluster
) -> None:
    hire_case_managers(platform)
    leader = cluster.node_named(_replicated_queues(platform, cluster)["notifications"])

    def restart() -> None:
        leader.stop_app()
        assert wait_until(lambda: leader.node not in cluster.running_nodes(), timeout=30)
        leader.start_app()

    load, _ = _write_while(platform, restart, at_write=100)
    assert set(cluster.running_nodes()) == {node.node for node in cluster.nodes}
    _assert_nothing_lost_or_repeated(platform, load)
    # the restarted node is a member again: the queues are back to three replicas
    _replicated_queues(platform, cluster)
