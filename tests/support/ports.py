"""Ports for the servers tests start (service APIs, their metrics, SMTP, the OpenID provider).

Choosing a free port and binding it later is a race: ``bind(("127.0.0.1", 0))`` takes a port
from the kernel's ephemeral range, and until the server binds it, the kernel may give the same
port to an outgoing connection (to PostgreSQL, RabbitMQ, a service), or to another test worker's
choice — then the server cannot bind, and the test talks to whatever holds the port (a journey
test once got 404s from another worker's API). So ports are taken below the ephemeral range,
which the kernel never hands out; in a block of their own for each pytest-xdist worker; never
the same one twice in a process; and only after a bind shows them free."""

from __future__ import annotations

import os
import random
import socket
import threading
from pathlib import Path

#: Ports a block: each pytest-xdist worker (and the main process) chooses in its own.
BLOCK = 2_500
#: Where the kernel's ephemeral range starts when /proc does not say (Linux's default).
EPHEMERAL_START = 32_768
#: The blocks lie in 10000-19999: 20000 on is where the tests' ``casehub dev`` instances go
#: (``tests.support.processes.DEV_BASE_PORTS``, their workers' metrics ports above them).
_LOWEST = 10_000
_HIGHEST = 20_000

_lock = threading.Lock()
_handed_out: set[int] = set()


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return EPHEMERAL_START


def _block() -> range:
    """This process's block: the main process the first, worker gwN the (N+2)th, cycling through
    the room between 10000 and the lower of 20000 and the ephemeral range."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) + 1 if worker[:2] == "gw" and worker[2:].isdigit() else 0
    blocks = max(1, (min(_HIGHEST, _ephemeral_start()) - _LOWEST) // BLOCK)
    start = _LOWEST + (index % blocks) * BLOCK
    return range(start, start + BLOCK)


def bindable(port: int) -> bool:
    """Whether nothing holds ``port`` on the loopback address now."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port no server listens on, that the kernel will not hand out, not given before here."""
    with _lock:
        block = _block()
        if min(_HIGHEST, _ephemeral_start()) - _LOWEST < BLOCK:  # no room below the ephemeral range
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                return int(probe.getsockname()[1])
        for _ in range(2):
            # From a random place in the block: two test runs at once rarely meet.
            offset = random.randrange(BLOCK)
            for step in range(BLOCK):
                port = block[(offset + step) % BLOCK]
                if port not in _handed_out and bindable(port):
                    _handed_out.add(port)
                    return port
            _handed_out.difference_update(block)  # every port given once: a second round
    raise RuntimeError(f"no free port left in {block.start}-{block.stop - 1}")
