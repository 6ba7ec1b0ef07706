"""Escalation of unacknowledged crisis alerts, with the test's clock: every alert reaches level 1
(the supervisor again, or on-call) and level 2 (on-call), whoever it went to first, and one
alert whose escalation fails never holds back another's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from tests.notifications.conftest import NOW, NotificationsApi

ON_CALL, INTAKE_ON_CALL = "on-call@agency.example", "intake-on-call@agency.example"
LEVEL_1 = NOW + timedelta(minutes=15, seconds=1)
LEVEL_2 = NOW + timedelta(minutes=30, seconds=2)


def _email(person: str) -> str:
    return f"{person}@agency.example"


def _told(notifications: NotificationsApi) -> dict[tuple[str, str], list[int]]:
    """(address, client reference) -> the escalation level of each email, in order (0: the
    alert itself, N: "Nobody has acknowledged it yet (escalation N)")."""
    mailbox = notifications.mailbox
    assert mailbox is not None
    told: dict[tuple[str, str], list[int]] = {}
    for message in mailbox.messages:
        reference = message["Subject"].rsplit(" ", 1)[-1]
        body = message.get_payload()
        level = int(body.split("(escalation ")[1][0]) if "(escalation " in body else 0
        told.setdefault((message["To"], reference), []).append(level)
    return told


def _escalated(notifications: NotificationsApi) -> list[tuple[str, int, list[str]]]:
    return sorted(
        (e["data"]["notification_id"], e["data"]["level"], e["data"]["escalated_to"])
        for e in notifications.events("notification.escalated.v1")
    )


def _failed_escalations(notifications: NotificationsApi) -> float:
    """casehub_escalations_failed_total as /metrics shows it."""
    metrics = notifications.http.get("/metrics").get_data(as_text=True)
    for family in text_string_to_metric_families(metrics):
        if family.name == "casehub_escalations_failed":
            return sum(s.value for s in family.samples if s.name.endswith("_total"))
    raise AssertionError("casehub_escalations_failed_total is not on /metrics")


def _flag(notifications: NotificationsApi, reference: str, **options: Any) -> str:
    """A high-risk flag for the client with this reference; the crisis alert's id."""
    event_id = notifications.risk_flagged(
        "high", client_id=f"c-{reference}", client_reference=reference, **options
    )
    [alert] = notifications.notified[event_id]
    return alert


def test_every_unacknowledged_alert_reaches_levels_1_and_2_whoever_was_told_first(
    notifications: NotificationsApi,
) -> None:
    """Assigned and unassigned clients, people with and without an email address: on-call was
    already told of three of these alerts at once, which used to break every escalation run."""
    for person in ("cm-1", "sup-1", "cm-4"):
        notifications.person(person)
    alerts = {
        # reference: (case manager, supervisor) -- cm-2 and sup-2 have no email on file
        "C-1001": ("cm-1", "sup-1"),
        "C-1002": ("cm-2", "sup-2"),
        "C-1003": (None, None),
        "C-1004": ("cm-4", None),
        "C-1005": ("cm-1", "sup-1"),
    }
    ids = {
        reference: _flag(notifications, reference, case_manager=cm, supervisor=sup)
        for reference, (cm, sup) in alerts.items()
    }
    notifications.dispatch(NOW)
    assert _told(notifications) == {
        (_email("cm-1"), "C-1001"): [0],
        (_email("sup-1"), "C-1001"): [0],
        (ON_CALL, "C-1002"): [0],  # nobody could be emailed: on-call
        (INTAKE_ON_CALL, "C-1003"): [0],  # no case manager
        (ON_CALL, "C-1003"): [0],  # no supervisor
        (_email("cm-4"), "C-1004"): [0],
        (ON_CALL, "C-1004"): [0],
        (_email("cm-1"), "C-1005"): [0],
        (_email("sup-1"), "C-1005"): [0],
    }

    assert notifications.escalate(NOW + timedelta(minutes=14)) == 0
    assert notifications.escalate(LEVEL_1) == 5
    notifications.dispatch(LEVEL_1)
    told = _told(notifications)
    assert told[(_email("sup-1"), "C-1001")] == [0, 1]
    assert told[(_email("sup-1"), "C-1005")] == [0, 1]
    assert told[(ON_CALL, "C-1002")] == [0, 1]  # sup-2 has no address: on-call instead
    assert told[(ON_CALL, "C-1003")] == [0, 1]  # on-call stands in for the missing supervisor
    assert told[(ON_CALL, "C-1004")] == [0, 1]

    acknowledged = notifications.call(
        "POST", f"/notifications/{ids['C-1005']}/acknowledge", as_=("sup-1", "supervisor")
    )
    assert acknowledged.status_code == 200
    assert notifications.escalate(LEVEL_2) == 4
    notifications.dispatch(LEVEL_2)
    told = _told(notifications)
    for reference in ("C-1001", "C-1002", "C-1003", "C-1004"):
        assert told[(ON_CALL, reference)][-1] == 2, reference
    assert told[(ON_CALL, "C-1001")] == [2]
    assert (ON_CALL, "C-1005") not in told  # acknowledged after level 1
    # on-call's first reminder is 15 minutes after it was told (tests/notifications/test_crisis_path.py)
    assert notifications.escalate(LEVEL_2 + timedelta(minutes=14)) == 0

    assert _escalated(notifications) == sorted(
        [
            (ids["C-1001"], 1, ["sup-1"]),
            (ids["C-1002"], 1, ["on_call"]),
            (ids["C-1003"], 1, ["on_call"]),
            (ids["C-1004"], 1, ["on_call"]),
            (ids["C-1005"], 1, ["sup-1"]),
            *((ids[r], 2, ["on_call"]) for r in ("C-1001", "C-1002", "C-1003", "C-1004")),
        ]
    )
    log = notifications.call(
        "GET", "/deliveries", query={"notification_id": ids["C-1003"], "limit": 50}
    ).json["items"]
    on_call = sorted(
        (d["escalation_level"], d["status"])
        for d in log
        if d["recipient"] == "on_call" and d["channel"] == "email"
    )
    assert on_call == [(0, "delivered"), (1, "delivered"), (2, "delivered")]
    assert {d["recipient_kind"] for d in log if d["recipient"] == "on_call"} == {"on_call"}
    assert notifications.call("GET", "/deliveries", query={"status": "failed"}).json["items"] == []


def test_the_reminder_goes_to_the_clients_supervisor_now(notifications: NotificationsApi) -> None:
    """The client moved to another team after the alert: the new supervisor is reminded, and
    may acknowledge; the first supervisor, told at once, still may too."""
    for person in ("cm-1", "sup-1", "cm-5", "sup-3"):
        notifications.person(person)
    alert = _flag(notifications, "C-1001", case_manager="cm-1", supervisor="sup-1")
    notifications.case_assigned(
        "C-1001", client_id="c-C-1001", case_manager="cm-5", supervisor="sup-3"
    )
    notifications.dispatch(NOW)
    assert notifications.escalate(LEVEL_1) == 1
    notifications.dispatch(LEVEL_1)
    told = _told(notifications)
    assert told[(_email("sup-1"), "C-1001")] == [0]
    assert told[(_email("sup-3"), "C-1001")] == [1]
    acknowledged = notifications.call(
        "POST", f"/notifications/{alert}/acknowledge", as_=("sup-3", "supervisor")
    )
    assert acknowledged.status_code == 200, acknowledged.json


@contextmanager
def _refusing_reminders_to(notifications: NotificationsApi, person: str) -> Iterator[None]:
    """A database trigger refuses escalation deliveries to one person (as a bad deploy's
    constraint would); dropped again when the block ends."""
    engine = notifications.runtime.database.engine
    if engine.dialect.name == "postgresql":
        create = [
            f"""CREATE FUNCTION refuse_reminders() RETURNS trigger AS $$ BEGIN
                IF NEW.recipient = '{person}' AND NEW.escalation_level > 0 THEN
                    RAISE EXCEPTION 'reminders to {person} refused by a test trigger';
                END IF; RETURN NEW; END $$ LANGUAGE plpgsql""",
            "CREATE TRIGGER refuse_reminders BEFORE INSERT ON deliveries "
            "FOR EACH ROW EXECUTE FUNCTION refuse_reminders()",
        ]
        drop = [
            "DROP TRIGGER refuse_reminders ON deliveries",
            "DROP FUNCTION refuse_reminders()",
        ]
    else:
        create = [
            f"""CREATE TRIGGER refuse_reminders BEFORE INSERT ON deliveries
                WHEN NEW.recipient = '{person}' AND NEW.escalation_level > 0
                BEGIN SELECT RAISE(ABORT, 'reminders to {person} refused by a test trigger'); END"""
        ]
        drop = ["DROP TRIGGER refuse_reminders"]
    with engine.begin() as connection:
        for statement in create:
            connection.execute(text(statement))
    try:
        yield
    finally:
        with engine.begin() as connection:
            for statement in drop:
                connection.execute(text(statement))


def test_an_alert_whose_escalation_fails_holds_back_no_other_and_is_retried(
    notifications: NotificationsApi,
) -> None:
    for person in ("cm-1", "sup-1", "cm-9", "sup-9"):
        notifications.person(person)
    # the failing one is the most overdue, so it is the first the escalator takes
    broken = _flag(
        notifications,
        "C-1009",
        case_manager="cm-9",
        supervisor="sup-9",
        now=NOW - timedelta(minutes=1),
    )
    assigned = _flag(notifications, "C-1001", case_manager="cm-1", supervisor="sup-1")
    unassigned = _flag(notifications, "C-1003", case_manager=None, supervisor=None)
    notifications.dispatch(NOW)
    failed_before = _failed_escalations(notifications)

    with _refusing_reminders_to(notifications, "sup-9"):
        assert notifications.escalate(LEVEL_1) == 2
        assert _failed_escalations(notifications) == failed_before + 1
        assert {(n, level) for n, level, _ in _escalated(notifications)} == {
            (assigned, 1),
            (unassigned, 1),
        }
        assert notifications.escalate(LEVEL_1 + timedelta(seconds=15)) == 0  # tried again
        assert _failed_escalations(notifications) == failed_before + 2
        notifications.dispatch(LEVEL_1)
    told = _told(notifications)
    assert told[(_email("sup-1"), "C-1001")] == [0, 1]
    assert told[(ON_CALL, "C-1003")] == [0, 1]
    assert told[(_email("sup-9"), "C-1009")] == [0]

    assert notifications.escalate(LEVEL_1 + timedelta(seconds=30)) == 1  # the next run: fixed
    notifications.dispatch(LEVEL_1 + timedelta(seconds=30))
    assert _told(notifications)[(_email("sup-9"), "C-1009")] == [0, 1]
    assert notifications.escalate(LEVEL_2 + timedelta(seconds=30)) == 3
    assert sorted(level for n, level, _ in _escalated(notifications) if n == broken) == [1, 2]
    assert _failed_escalations(notifications) == failed_before + 2


def test_two_escalators_at_once_escalate_each_alert_once(notifications: NotificationsApi) -> None:
    """Two workers' escalators run together: each alert goes up one level, once."""
    alerts = {
        _flag(notifications, f"C-{1100 + n}", case_manager=None, supervisor=None) for n in range(12)
    }
    start = threading.Barrier(2)
    counts: list[int] = []

    def escalator() -> None:
        start.wait()
        counts.append(notifications.escalate(LEVEL_1))

    runs = [threading.Thread(target=escalator) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert sum(counts) == len(alerts)
    assert sorted(n for n, level, _ in _escalated(notifications) if level == 1) == sorted(alerts)
    log = _log_of_reminders(notifications)
    assert sorted(n for n, level in log if level == 1) == sorted(alerts)


def _log_of_reminders(notifications: NotificationsApi) -> list[tuple[str, int]]:
    items: list[tuple[str, int]] = []
    cursor: str | None = None
    while True:
        query = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = notifications.call("GET", "/deliveries", query=query).json
        items += [
            (d["notification_id"], d["escalation_level"])
            for d in page["items"]
            if d["escalation_level"] > 0
        ]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
