"""The tests' servers get ports the kernel never hands to an outgoing connection and no other
test worker chooses (a race once sent a journey test's calls to another worker's API)."""

from __future__ import annotations

import socket

import pytest

from tests.support import ports


def test_ports_are_distinct_free_and_below_the_ephemeral_range() -> None:
    chosen = [ports.free_port() for _ in range(300)]
    assert len(set(chosen)) == len(chosen)
    assert all(port < ports._ephemeral_start() for port in chosen)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", chosen[-1]))  # free when handed out


def test_each_test_worker_chooses_in_a_block_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = []
    for worker in ("", "gw0", "gw1", "gw2"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        blocks.append(set(ports._block()))
    for n, block in enumerate(blocks):
        assert all(not block & other for other in blocks[n + 1 :])


def test_a_port_in_use_is_never_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every other port of the block handed out already: the one a server holds is skipped even
    then; once it is free, it is the one handed out."""
    block = ports._block()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", ports.free_port()))
        taken.listen()
        held = taken.getsockname()[1]
        monkeypatch.setattr(ports, "_handed_out", set(block) - {held})
        assert ports.free_port() != held  # a second round through the block, without it
    monkeypatch.setattr(ports, "_handed_out", set(block) - {held})
    assert ports.free_port() == held  # once it is free again
