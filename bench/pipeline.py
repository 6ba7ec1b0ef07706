"""The event pipeline and its scale-out, against raw kombu on the same broker in the same run.

Ours: intake's outbox (rows written ``PER_TRANSACTION`` to a transaction) → intake's worker (relay,
pipelined confirms) → RabbitMQ quorum queue → referrals' worker (batched inbox + the real
``consent.granted`` handler, commit, then ack). Baseline: a kombu ``Producer`` waiting for each
confirm (what most platforms do) and a consumer acking each message, same payloads, same broker.
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from datetime import date
from typing import Any

import psycopg
from kombu import Connection, Consumer, Exchange, Producer, Queue
from sqlalchemy.engine import make_url

from bench.environment import (
    BROKER_URL,
    PeakMemory,
    Stack,
    cpu_seconds,
    machine_busy,
    resident_mb,
    wait_until,
)
from bench.profiling import Sampler
from bench.report import Outcome, add_memory, until_baselines_are_usual
from bench.usual import usual_rate
from services.catalog import runtime_for
from shared.messaging.publisher import ConfirmingPublisher, OutgoingMessage
from shared.service import ServiceRuntime

PER_TRANSACTION = 50
EVENT_TYPE = "casehub.intake.consent.granted.v1"
#: The two baselines' names in ``bench.usual``.
CONFIRM_EACH, PIPELINED_CONFIRMS = "kombu confirm each", "kombu pipelined confirms"


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _events(runtime: ServiceRuntime, count: int) -> list[tuple[str, dict[str, Any]]]:
    """One consent per client: the subjects differ, as in a busy intake service."""
    today = date.today()
    return [
        (
            f"client/{uuid.uuid4()}",
            {
                "consent_id": str(uuid.uuid4()),
                "client_id": str(uuid.uuid4()),
                "organization_id": f"org-{n % 40}",
                "categories": ["contact_details", "assessment_summary"],
                "starts_on": today,
            },
        )
        for n in range(count)
    ]


def write_outbox(runtime: ServiceRuntime, events: list[tuple[str, dict[str, Any]]]) -> None:
    for first in range(0, len(events), PER_TRANSACTION):
        with runtime.unit_of_work() as uow:
            for subject, data in events[first : first + PER_TRANSACTION]:
                uow.publish(EVENT_TYPE, subject=subject, data=data)


def handled(stack: Stack, service: str = "referrals") -> int:
    with psycopg.connect(_conninfo(stack.databases[service])) as connection:
        row = connection.execute("SELECT count(*) FROM inbox").fetchone()
    return int(row[0]) if row else 0


def _queue_consumers(stack: Stack, service: str) -> int:
    with Connection(BROKER_URL) as connection:
        name = f"{stack.queue_prefix}{service}.events"
        try:
            return connection.default_channel.queue_declare(name, passive=True).consumer_count
        except Exception:
            return 0


# -- the baseline: raw kombu -------------------------------------------------------------------
def _ack_consumer(url: str, queue_name: str, count: int, ready: Any, done: Any) -> None:
    """A consumer acking each message; reports the wall-clock time of the last ack."""
    seen = 0
    last = 0.0

    def on_message(message: Any) -> None:
        nonlocal seen, last
        message.ack()
        seen += 1
        last = time.time()

    with Connection(url) as connection:
        queue = Queue(queue_name, no_declare=True)
        with Consumer(
            connection.channel(), queues=[queue], on_message=on_message, prefetch_count=50
        ):
            ready.set()
            deadline = time.monotonic() + 600
            while seen < count and time.monotonic() < deadline:
                try:
                    connection.drain_events(timeout=1)
                except TimeoutError:
                    continue
    done.put((last, time.process_time()))


def _publish_each_confirmed(url: str, exchange: Exchange, bodies: list[bytes]) -> None:
    with Connection(url, transport_options={"confirm_publish": True}) as connection:
        producer = Producer(connection.channel(), exchange=exchange)
        for body in bodies:
            producer.publish(
                body,
                routing_key="bench.baseline",
                mandatory=True,
                delivery_mode=2,
                content_type="application/cloudevents+json",
                content_encoding="utf-8",
                message_id=str(uuid.uuid4()),
            )


def _publish_pipelined(url: str, exchange: Exchange, bodies: list[bytes], batch: int) -> None:
    with Connection(url) as connection:
        publisher = ConfirmingPublisher(connection, confirm_timeout=30)
        for first in range(0, len(bodies), batch):
            messages = [
                OutgoingMessage(n, str(uuid.uuid4()), exchange.name, "bench.baseline", body)
                for n, body in enumerate(bodies[first : first + batch], start=first)
            ]
            outcome = publisher.publish(messages)
            if len(outcome.confirmed) != len(messages):
                raise RuntimeError(f"baseline publish failed: {outcome.failed}")
        publisher.close()


def raw_kombu_rate(
    stack: Stack, bodies: list[bytes], pipelined: bool
) -> tuple[float, float, float]:
    """Messages per second from the first publish to the last ack by a separate process, and
    the publisher's and the consumer's CPU milliseconds per message."""
    exchange = Exchange(stack.exchange, type="topic", durable=True)
    name = f"{stack.queue_prefix}baseline.{uuid.uuid4().hex[:6]}"
    queue = Queue(
        name,
        exchange=exchange,
        routing_key="bench.baseline",
        durable=True,
        queue_arguments={"x-queue-type": "quorum"},
    )
    with Connection(BROKER_URL) as connection:
        exchange.declare(channel=connection.default_channel)
        queue.declare(channel=connection.default_channel)
    spawn = multiprocessing.get_context("spawn")
    ready, done = spawn.Event(), spawn.Queue()
    consumer = spawn.Process(
        target=_ack_consumer, args=(BROKER_URL, name, len(bodies), ready, done), daemon=True
    )
    consumer.start()
    try:
        ready.wait(30)
        started, cpu = time.time(), time.process_time()
        if pipelined:
            _publish_pipelined(BROKER_URL, exchange, bodies, batch=500)
        else:
            _publish_each_confirmed(BROKER_URL, exchange, bodies)
        publisher_cpu = time.process_time() - cpu
        last, consumer_cpu = done.get(timeout=600)
        consumer.join(10)
        per_message = 1000 / len(bodies)
        return (
            len(bodies) / (last - started),
            publisher_cpu * per_message,
            consumer_cpu * per_message,
        )
    finally:
        if consumer.is_alive():
            consumer.kill()
        with Connection(BROKER_URL) as connection:
            connection.default_channel.queue_delete(name)


# -- ours ----------------------------------------------------------------------------------------
def pipeline_rate(
    stack: Stack, runtime: ServiceRuntime, count: int, profile: bool
) -> tuple[float, str]:
    """Events per second from the commit of ``count`` outbox rows to the last handler commit:
    like the baseline's publisher, the pipeline starts with every event ready to go."""
    before = handled(stack)
    events = _events(runtime, count)
    workers = {p.pid: cpu_seconds(p.pid) for p in stack.processes}
    with runtime.unit_of_work() as uow:
        for subject, data in events:
            uow.publish(EVENT_TYPE, subject=subject, data=data)
        pids = [p.pid for p in stack.processes]
        sampler = Sampler(pids, max(2.0, count / 2500)) if profile else None
        started = time.time()
    wait_until(lambda: handled(stack) >= before + count, timeout=600, every=0.02)
    took = time.time() - started
    used = {pid: (cpu_seconds(pid) - spent) * 1000 / count for pid, spent in workers.items()}
    excerpt = sampler.finish() if sampler else ""
    if handled(stack) < before + count:
        raise RuntimeError(f"only {handled(stack) - before} of {count} events were handled")
    CPU_PER_EVENT.clear()
    CPU_PER_EVENT.update(used)
    return count / took, excerpt


#: CPU milliseconds per event of each worker process in the last ``pipeline_rate``
CPU_PER_EVENT: dict[int, float] = {}


def run_pipeline(
    count: int, profile: bool = True, *, judge_baselines: bool = False
) -> list[Outcome]:
    """``judge_baselines``: a kombu baseline far below its usual rate (``bench.usual``) has ours
    and the baselines measured again, and if it stays low its row says it is not a result."""
    outcome = Outcome("event pipeline")
    with Stack(("intake", "referrals")) as stack:
        stack.migrate("intake", "referrals")
        relay = stack.start_worker("intake")
        consumer = stack.start_worker("referrals")
        runtime = runtime_for("intake", stack.settings("intake"))
        assert wait_until(lambda: _queue_consumers(stack, "referrals") >= 1, timeout=60)
        idle = {
            "intake worker": resident_mb(relay.pid),
            "referrals worker": resident_mb(consumer.pid),
        }
        write_outbox(runtime, _events(runtime, 200))  # warm up connections and caches
        wait_until(lambda: handled(stack) >= 200, timeout=60)
        usual = {
            pipelined: usual_rate(name) if judge_baselines else None
            for pipelined, name in ((False, CONFIRM_EACH), (True, PIPELINED_CONFIRMS))
        }
        payloads = [
            _encode(runtime.outbox.build(EVENT_TYPE, subject=s, data=d).to_cloudevent())
            for s, d in _events(runtime, count)
        ]
        relay_peaks: list[float] = []
        consumer_peaks: list[float] = []

        def side_by_side() -> tuple[tuple[float, Any, Any, dict[int, float]], dict[str, float]]:
            with (
                PeakMemory(lambda: [relay.pid]) as relay_peak,
                PeakMemory(lambda: [consumer.pid]) as consumer_peak,
            ):
                # Measured unsampled, like the baselines; py-spy on 2 cores would slow ours only.
                ours, _ = pipeline_rate(stack, runtime, count, profile=False)
            relay_peaks.append(relay_peak.peak)
            consumer_peaks.append(consumer_peak.peak)
            cpu_per_event = dict(CPU_PER_EVENT)
            confirm_each = raw_kombu_rate(stack, payloads, pipelined=False)
            pipelined = raw_kombu_rate(stack, payloads, pipelined=True)
            rates = {CONFIRM_EACH: confirm_each[0], PIPELINED_CONFIRMS: pipelined[0]}
            return (ours, confirm_each, pipelined, cpu_per_event), rates

        ours, confirm_each, pipelined, cpu_per_event = until_baselines_are_usual(
            side_by_side, outcome.notes, judge=judge_baselines
        )
        baseline, publish_cpu, ack_cpu = confirm_each
        raw_pipelined, pipelined_cpu, _ = pipelined
        excerpt = ""
        if profile:  # the profile: a quarter of the load again, sampled, after the figures
            _, excerpt = pipeline_rate(stack, runtime, max(count // 4, 200), profile=True)
            CPU_PER_EVENT.clear()
            CPU_PER_EVENT.update(cpu_per_event)
        loaded = {"intake worker": max(relay_peaks), "referrals worker": max(consumer_peaks)}
        relay_cpu, consumer_cpu = cpu_per_event[relay.pid], cpu_per_event[consumer.pid]
    outcome.add(
        f"{count:,} events outbox → handler commit",
        ours,
        "events/s",
        baseline=baseline,
        baseline_name="kombu, confirm each + ack consumer",
        target="≥ 2.0x baseline",
        check=lambda f: (f.ratio or 0) >= 2.0,
        usual_baseline=usual[False],
    )
    outcome.add(
        "same, against raw pipelined confirms",
        ours,
        "events/s",
        baseline=raw_pipelined,
        baseline_name="kombu, pipelined confirms + ack consumer",
        target="≥ 0.4x baseline",
        check=lambda f: (f.ratio or 0) >= 0.4,
        usual_baseline=usual[True],
    )
    outcome.notes.append(
        f"Ours starts when {count:,} outbox rows commit (pg_notify wakes the relay) and ends when "
        "referrals' last inbox + consent-handler transaction commits: the relay claims, publishes "
        "with pipelined confirms and marks rows sent; the consumer validates, records the inbox, "
        "runs the handler, commits, then acks. The baselines publish from memory and do no "
        "database work at all."
    )
    outcome.notes.append(
        f"CPU per event: our relay (intake worker) {relay_cpu:.2f} ms, our consumer (referrals "
        f"worker) {consumer_cpu:.2f} ms, plus PostgreSQL; the baseline's publisher "
        f"{publish_cpu:.2f} ms (pipelined {pipelined_cpu:.2f} ms) and its ack-consumer "
        f"{ack_cpu:.2f} ms. On 2 cores shared with PostgreSQL and RabbitMQ, the consumer's "
        "validation + inbox + handler work per event, not the broker, sets our ceiling."
    )
    if excerpt:
        outcome.profiles["intake worker + referrals worker during the run"] = excerpt
    memory = Outcome("memory")
    for role in idle:
        add_memory(memory, role, idle[role], loaded[role], f"while {count:,} events ran")
    return [outcome, memory]


def _encode(envelope: dict[str, Any]) -> bytes:
    from shared.messaging.publisher import encode

    return encode(envelope)


def run_scale_out(count: int, worker_counts: tuple[int, ...] = (1, 2, 4)) -> Outcome:
    """Consumer throughput of 1, 2, 4 referrals worker processes on a queue filled beforehand;
    the rate is taken between the 10th and 90th percentile of handling, so start-up is left out."""
    outcome = Outcome("scale-out")
    rates: dict[int, float] = {}
    busy: dict[int, float] = {}
    cpu_per_event: dict[int, float] = {}
    with Stack(("intake", "referrals")) as stack:
        stack.migrate("intake", "referrals")
        relay = stack.start_worker("intake")
        runtime = runtime_for("intake", stack.settings("intake"))
        for workers in worker_counts:
            before = handled(stack)
            write_outbox(runtime, _events(runtime, count))
            wait_until(lambda: _pending(stack) == 0, timeout=300)
            started = time.time()
            processes = [stack.start_worker("referrals") for _ in range(workers)]
            wait_until(lambda n=workers: _queue_consumers(stack, "referrals") >= n, timeout=60)
            busy_before = machine_busy()
            cpu_ready = sum(cpu_seconds(p.pid) for p in processes)
            handled_ready = handled(stack)
            wait_until(lambda b=before: handled(stack) >= b + count, timeout=600, every=0.05)
            busy_after = machine_busy()
            rates[workers] = _middle_rate(stack, since=started)
            cpu = (sum(cpu_seconds(p.pid) for p in processes) - cpu_ready) * 1000
            cpu /= max(before + count - handled_ready, 1)
            busy[workers] = (
                100 * (busy_after[0] - busy_before[0]) / max(busy_after[1] - busy_before[1], 1)
            )
            cpu_per_event[workers] = cpu
            for process in processes:
                stack.stop(process)
        stack.stop(relay)
    for workers, rate in rates.items():
        outcome.add(
            f"{workers} referrals worker process{'es' if workers > 1 else ''}",
            rate,
            "events/s",
            baseline=rates[worker_counts[0]] if workers != worker_counts[0] else None,
            baseline_name="1 process",
            target="≥ 1.6x from 1 to 2" if workers == 2 else "",
            check=(lambda f: (f.ratio or 0) >= 1.6) if workers == 2 else None,
        )
    outcome.notes.append(
        f"{count:,} events queued before the workers start; rate between the 10th and 90th "
        "percentile of handling. Both cores busy while they ran: "
        + ", ".join(f"{n} process(es) {busy[n]:.0f}%" for n in rates)
        + "; worker CPU per event once all were consuming: "
        + ", ".join(f"{n}: {cpu_per_event[n]:.2f} ms" for n in rates)
        + ". Competing consumers add throughput only while a core is idle: each process's "
        "events also cost PostgreSQL and RabbitMQ CPU on the same 2 cores."
    )
    return outcome


def _pending(stack: Stack) -> int:
    with psycopg.connect(_conninfo(stack.databases["intake"])) as connection:
        row = connection.execute(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        ).fetchone()
    return int(row[0]) if row else 0


def _middle_rate(stack: Stack, since: float) -> float:
    with psycopg.connect(_conninfo(stack.databases["referrals"])) as connection:
        times = [
            row[0].timestamp()
            for row in connection.execute(
                "SELECT received_at FROM inbox WHERE received_at >= to_timestamp(%s) "
                "ORDER BY received_at",
                (since,),
            )
        ]
    low, high = times[len(times) // 10], times[(len(times) * 9) // 10]
    return (len(times) * 0.8) / max(high - low, 1e-6)
