"""A closed-loop HTTP load generator: a few processes, one keep-alive connection each, so the
same generator drives our API and the bare baseline and the ratio compares servers only."""

from __future__ import annotations

import http.client
import itertools
import json
import multiprocessing
import random
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

#: (method, path, body) for the n-th request of one client process
RequestMaker = Callable[[int, random.Random], tuple[str, str, Any]]


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        return percentile(self.latencies, p)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def random_name(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=10)).capitalize()


def _client(
    url: str, headers: dict[str, str], maker: RequestMaker, seconds: float, seed: int, out: Any
) -> None:
    parts = urlsplit(url)
    rng = random.Random(seed)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    latencies: list[float] = []
    errors = 0
    n = 0
    began = time.time()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        method, path, body = maker(n, rng)
        n += 1
        payload = None if body is None else json.dumps(body)
        started = time.perf_counter()
        try:
            connection.request(
                method, path, body=payload, headers={**headers, "Content-Type": "application/json"}
            )
            response = connection.getresponse()
            response.read()
            ok = response.status < 400
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
        except (OSError, http.client.HTTPException):
            ok = False
            connection.close()
        latencies.append(time.perf_counter() - started)
        errors += 0 if ok else 1
    out.put((latencies, errors, began, time.time()))


#: Runs started by this process: each run's load processes draw their own requests.
_RUNS = itertools.count()


def run_load(
    url: str,
    maker: RequestMaker,
    *,
    headers: dict[str, str] | None = None,
    seconds: float = 5.0,
    clients: int = 4,
) -> LoadResult:
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    # Every run its own seeds: with the same ones, a measured run after its warm-up sent the same
    # registrations again, and three in four were refused as duplicates (a 409 is cheaper than
    # a registration, so they flattered the rate).
    first = next(_RUNS) * 1_000
    processes = [
        spawn.Process(target=_client, args=(url, headers or {}, maker, seconds, first + n, out))
        for n in range(clients)
    ]
    for process in processes:
        process.start()
    latencies: list[float] = []
    errors = 0
    first, last = float("inf"), 0.0
    for _ in processes:
        got, failed, began, ended = out.get(timeout=seconds + 120)
        latencies.extend(got)
        errors += failed
        first, last = min(first, began), max(last, ended)
    for process in processes:
        process.join(10)
    return LoadResult(len(latencies), errors, last - first, latencies)
