"""A worker of the test sink in its own process, so tests can kill it like an operator would.

python -m tests.support.worker_process CONFIG_JSON [--die-before-ack]
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence

from shared.messaging.consumer import Delivery
from tests.support.platform import PlatformConfig, TestPlatform


def die_after_commit_before_ack(deliveries: Sequence[Delivery]) -> None:
    """The effects are committed; the process dies before it can acknowledge."""
    if any(delivery.outcome == "handled" for delivery in deliveries):
        print("handled-and-dying", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)


def main(argv: Sequence[str]) -> int:
    config = PlatformConfig.from_json(argv[0])
    platform = TestPlatform(config)
    options = {"before_ack": die_after_commit_before_ack} if "--die-before-ack" in argv else {}
    consumer = platform.sink().consumer(**options)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("consuming", flush=True)
    consumer.run(stop)
    print("stopped cleanly", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
