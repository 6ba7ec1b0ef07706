"""Workers killed with SIGKILL in the middle of their work, and workers competing for one queue:
nothing lost, nothing done twice (no second plan, no second crisis email)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kombu import Connection

from tests.reliability.conftest import (
    CASE_MANAGERS,
    HIGH_RISK,
    Workload,
    database_url,
    hire_case_managers,
    inbox_ids,
    outbox_ids_for,
    plans_per_client,
    query,
    unpublished,
)
from tests.support.backends import Backend
from tests.support.mail import Mailbox, start_smtp
from tests.support.platform import wait_until
from tests.support.processes import ProcessPlatform

SERVICES = ["intake", "planning", "notifications"]
ADMIN = ("admin-1", "admin")


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    controller, mailbox, port = start_smtp()
    yield mailbox, port
    controller.stop()


@pytest.fixture
def platform(
    backend: Backend, real_only: None, data_dir: Path, mailbox: tuple[Mailbox, int]
) -> Iterator[ProcessPlatform]:
    databases = {name: backend.new_database(name, data_dir) for name in SERVICES}
    running = ProcessPlatform(
        backend.broker_url, databases, data_dir, {"NOTIFICATIONS_SMTP_PORT": str(mailbox[1])}
    )
    yield running
    running.stop()


def _everything_consumed(platform: ProcessPlatform) -> bool:
    return unpublished(platform, "intake") == 0 and all(
        inbox_ids(platform, consumer) == outbox_ids_for(platform, consumer)
        for consumer in ("planning", "notifications")
    )


def _delivered_emails(platform: ProcessPlatform) -> int:
    [(count,)] = query(
        database_url(platform, "notifications"),
        "SELECT count(*) FROM deliveries WHERE channel = 'email' AND status = 'delivered'",
    )
    return count


@pytest.mark.slow
def test_workers_killed_mid_batch_then_restarted_lose_nothing_and_repeat_nothing(
    platform: ProcessPlatform,
    mailbox: tuple[Mailbox, int],
    record_property: Callable[[str, object], None],
) -> None:
    inbox, _ = mailbox
    platform.start(workers=["intake"])
    hire_case_managers(platform)
    for person in [*CASE_MANAGERS, "sup-1"]:
        saved = platform.call(
            "notifications",
            "PUT",
            f"/users/{person}/preferences",
            ADMIN,
            {"email": f"{person}@agency.example", "channels": ["email"]},
        )
        assert saved.status_code == 200, saved.text

    # the relay is killed while the writes arrive, and restarted
    load = Workload(platform)
    killed = []

    def kill_the_relay_once(progress: Workload) -> None:
        if progress.done >= 120 and not killed:
            [relay] = platform.workers["intake"]
            platform.kill(relay)
            killed.append(progress.done)
            platform.workers["intake"].remove(relay)
            platform.start_worker("intake")

    load.run(0, 150, cssrs=HIGH_RISK, on_progress=kill_the_relay_once)
    assert load.server_errors == 0 and set(load.statuses) == {201}, load.statuses
    assert killed and wait_until(lambda: unpublished(platform, "intake") == 0, timeout=60)

    # consumers start on a backlog and are killed in the middle of it, then restarted
    for name in ("planning", "notifications"):
        platform.start_worker(name)
    assert wait_until(lambda: sum(plans_per_client(platform).values()) >= 15, timeout=60)
    planning_worker = platform.workers["planning"].pop()
    platform.kill(planning_worker)
    plans_at_kill = sum(plans_per_client(platform).values())
    assert wait_until(lambda: _delivered_emails(platform) >= 15, timeout=60)
    notifications_worker = platform.workers["notifications"].pop()
    platform.kill(notifications_worker)
    emails_at_kill = _delivered_emails(platform)
    assert plans_at_kill < 150 and emails_at_kill < 300  # killed mid-work, not after it
    for name in ("planning", "notifications"):
        platform.start_worker(name)

    assert wait_until(lambda: _everything_consumed(platform), timeout=120, interval=0.5)
    plans = plans_per_client(platform)
    assert set(plans) == set(load.client_ids) and set(plans.values()) == {1}

    def email_deliveries() -> Counter[str]:
        rows = query(
            database_url(platform, "notifications"),
            "SELECT status FROM deliveries WHERE channel = 'email'",
        )
        return Counter(status for (status,) in rows)

    assert wait_until(lambda: set(email_deliveries()) == {"delivered"}, timeout=90), (
        email_deliveries()
    )
    time.sleep(1)  # nothing more arrives
    delivered = {
        f"<{delivery_id}@casehub>"
        for (delivery_id,) in query(
            database_url(platform, "notifications"),
            "SELECT id FROM deliveries WHERE channel = 'email'",
        )
    }
    per_message_id = Counter(m["Message-ID"] for m in inbox.messages)
    assert set(per_message_id) == delivered
    repeated = len(inbox.messages) - len(per_message_id)
    assert repeated <= 1  # at most the one message in flight at the kill, same Message-ID
    for person in (CASE_MANAGERS[0], "sup-1"):  # each person once per client in their care
        # (a repeat of the message in flight at the kill carries the same Message-ID, which is
        # how a mail client shows it once: count distinct messages)
        received = {m["Message-ID"]: m for m in inbox.to(f"{person}@agency.example")}
        subjects = Counter(
            m["Subject"] for m in received.values() if m["Subject"].startswith("URGENT")
        )
        assert subjects and set(subjects.values()) == {1}
    record_property(
        "faults",
        f"SIGKILL: relay killed after {killed[0]} of 450 writes, planning worker at "
        f"{plans_at_kill}/150 plans, notifications worker at {emails_at_kill}/{len(delivered)} "
        f"emails; afterwards {len(plans)} plans (duplicates 0), {len(per_message_id)} distinct "
        f"emails, {repeated} repeated with the same Message-ID",
    )


@pytest.mark.slow
def test_two_workers_of_one_service_compete_and_each_event_is_handled_once(
    platform: ProcessPlatform,
) -> None:
    platform.start(workers=["intake", "notifications"])
    hire_case_managers(platform)
    Workload(platform).run(0, 100)
    assert wait_until(lambda: unpublished(platform, "intake") == 0, timeout=60)
    first, second = platform.start_worker("planning"), platform.start_worker("planning")

    def consumers_on_the_queue() -> int:
        with Connection(platform.broker_url, connect_timeout=5) as connection:
            queue = platform.topology().queue_name("planning")
            return connection.default_channel.queue_declare(queue, passive=True).consumer_count

    assert wait_until(lambda: consumers_on_the_queue() == 2, timeout=30)
    assert wait_until(lambda: _everything_consumed(platform), timeout=90, interval=0.5)
    plans = plans_per_client(platform)
    assert len(plans) == 100 and set(plans.values()) == {1}
    assert first.poll() is None and second.poll() is None
