"""The crisis path: a risk flag always reaches a person, at once, and escalates until acknowledged."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import MetaData, event

from services.notifications import domain
from shared.audit import AuditTrail
from tests.notifications.conftest import CASE_MANAGER, NOW, SUPERVISOR, NotificationsApi

QUIET_ALL_DAY = {"quiet_start": "00:00:00", "quiet_end": "23:59:00"}


def test_high_risk_flag_emails_case_manager_and_supervisor_at_once_even_in_quiet_hours(
    notifications: NotificationsApi,
) -> None:
    notifications.person(CASE_MANAGER, **QUIET_ALL_DAY)
    notifications.person(SUPERVISOR, **QUIET_ALL_DAY)
    notifications.risk_flagged("high")
    notifications.dispatch(NOW)
    mailbox = notifications.mailbox
    assert mailbox is not None
    [to_case_manager] = mailbox.to(f"{CASE_MANAGER}@agency.example")
    [to_supervisor] = mailbox.to(f"{SUPERVISOR}@agency.example")
    assert to_case_manager["Subject"] == "URGENT: crisis alert for client C-1042"
    assert to_supervisor["Subject"] == to_case_manager["Subject"]
    text = to_case_manager.get_payload()
    assert "C-1042" in text and "C-SSRS" not in text and "intent" not in text  # minimal PHI
    inbox = notifications.call("GET", "/me/notifications", as_=(CASE_MANAGER, "case_manager")).json[
        "items"
    ]
    assert [item["urgency"] for item in inbox] == ["urgent"]


def test_crisis_alert_is_sent_before_routine_mail_that_came_due_earlier(
    notifications: NotificationsApi,
) -> None:
    notifications.person(CASE_MANAGER)
    notifications.person(SUPERVISOR)
    notifications.case_assigned("C-2000", now=NOW - timedelta(minutes=5))
    notifications.risk_flagged("high")
    assert notifications.dispatch(NOW) == 3
    mailbox = notifications.mailbox
    assert mailbox is not None
    assert [message["Subject"].split(":")[0] for message in mailbox.messages] == [
        "URGENT",
        "URGENT",
        "New client on your caseload",
    ]


def test_alert_recorded_while_the_dispatcher_is_sending_goes_out_in_the_same_run(
    notifications: NotificationsApi,
) -> None:
    notifications.person(CASE_MANAGER)
    notifications.person(SUPERVISOR)
    notifications.risk_flagged("moderate")  # one email, to the case manager
    later = NOW + timedelta(seconds=2)
    readings: list[datetime] = []

    def clock() -> datetime:
        """The dispatcher reads it before each message: after the first one is out, a crisis
        alert is recorded (as the consumer would, meanwhile) and time moves on."""
        if len(readings) == 1:
            notifications.risk_flagged("high", now=later)
        readings.append(NOW if not readings else later)
        return readings[-1]

    assert notifications.dispatch(clock) == 3
    mailbox = notifications.mailbox
    assert mailbox is not None
    assert [message["Subject"].split(":")[0] for message in mailbox.messages] == [
        "Priority",
        "URGENT",
        "URGENT",
    ]
    assert notifications.dispatch(later) == 0


def test_unacknowledged_alert_escalates_to_supervisor_then_on_call(
    notifications: NotificationsApi,
) -> None:
    notifications.person(CASE_MANAGER)
    notifications.person(SUPERVISOR)
    notifications.risk_flagged("high")
    notifications.dispatch(NOW)
    assert notifications.escalate(NOW + timedelta(minutes=14)) == 0
    assert notifications.escalate(NOW + timedelta(minutes=15, seconds=1)) == 1
    notifications.dispatch(NOW + timedelta(minutes=16))
    mailbox = notifications.mailbox
    assert mailbox is not None
    assert len(mailbox.to(f"{SUPERVISOR}@agency.example")) == 2
    assert "escalation 1" in mailbox.to(f"{SUPERVISOR}@agency.example")[1].get_payload()
    assert notifications.escalate(NOW + timedelta(minutes=31)) == 1
    notifications.dispatch(NOW + timedelta(minutes=31))
    assert len(mailbox.to("on-call@agency.example")) == 1
    # Nobody acknowledges: on-call is reminded every 15 minutes, a set number of times.
    at = NOW + timedelta(minutes=31)
    for _reminder in range(domain.ON_CALL_REMINDERS):
        assert notifications.escalate(at + timedelta(minutes=14)) == 0
        at += timedelta(minutes=15, seconds=1)
        assert notifications.escalate(at) == 1
    notifications.dispatch(at)
    to_on_call = mailbox.to("on-call@agency.example")
    assert len(to_on_call) == 1 + domain.ON_CALL_REMINDERS
    last = to_on_call[-1].get_payload(decode=True).decode()
    reminders = domain.ON_CALL_REMINDERS
    assert f"reminder {reminders} of {reminders} to on-call" in last
    assert "/clients/c-1/emergency-access" in last
    assert notifications.escalate(at + timedelta(hours=5)) == 0  # the last reminder went
    escalated = notifications.events("notification.escalated.v1")
    assert [(e["data"]["level"], e["data"]["escalated_to"]) for e in escalated] == [
        (1, [SUPERVISOR]),
        *((level, ["on_call"]) for level in range(2, domain.LAST_ESCALATION_LEVEL + 1)),
    ]


def test_on_call_reminders_stop_once_someone_acknowledges(notifications: NotificationsApi) -> None:
    notifications.person(CASE_MANAGER)
    notifications.person(SUPERVISOR)
    [alert] = notifications.notified[notifications.risk_flagged("high")]
    notifications.dispatch(NOW)
    for minutes in (15, 30, 45):  # supervisor again, on-call, on-call's first reminder
        assert notifications.escalate(NOW + timedelta(minutes=minutes, seconds=minutes)) == 1
    acknowledged = notifications.call(
        "POST", f"/notifications/{alert}/acknowledge", as_=("dr-night", "on_call")
    )
    assert acknowledged.status_code == 200
    assert notifications.escalate(NOW + timedelta(hours=3)) == 0
    notifications.dispatch(NOW + timedelta(hours=3))
    mailbox = notifications.mailbox
    assert mailbox is not None
    assert len(mailbox.to("on-call@agency.example")) == 2  # told once, reminded once
    reminder = mailbox.to("on-call@agency.example")[-1].get_payload(decode=True).decode()
    assert f"reminder 1 of {domain.ON_CALL_REMINDERS} to on-call" in reminder


def test_acknowledged_alert_does_not_escalate(notifications: NotificationsApi) -> None:
    notifications.person(CASE_MANAGER)
    notifications.person(SUPERVISOR)
    notifications.risk_flagged("high")
    notifications.dispatch(NOW)
    [item] = notifications.call(
        "GET", "/me/notifications", as_=(CASE_MANAGER, "case_manager")
    ).json["items"]
    acknowledged = notifications.call(
        "POST",
        f"/notifications/{item['notification_id']}/acknowledge",
        as_=(CASE_MANAGER, "case_manager"),
    )
    assert acknowledged.status_code == 200 and acknowledged.json["acknowledged_by"] == CASE_MANAGER
    assert (
        notifications.call(
            "POST",
            f"/notifications/{item['notification_id']}/acknowledge",
            as_=(SUPERVISOR, "supervisor"),
        ).status_code
        == 409
    )
    assert (
        notifications.call(
            "POST",
            f"/notifications/{item['notification_id']}/acknowledge",
            as_=("cm-9", "case_manager"),
        ).status_code
        == 404
    )
    assert notifications.escalate(NOW + timedelta(hours=2)) == 0
    assert notifications.events("notification.escalated.v1") == []
    [event] = notifications.events("notification.acknowledged.v1")
    assert event["data"]["acknowledged_by"] == CASE_MANAGER


def test_moderate_risk_goes_to_the_case_manager_at_once_despite_quiet_hours(
    notifications: NotificationsApi,
) -> None:
    notifications.person(CASE_MANAGER, **QUIET_ALL_DAY)
    notifications.risk_flagged("moderate")
    notifications.dispatch(NOW)
    mailbox = notifications.mailbox
    assert mailbox is not None
    [message] = mailbox.to(f"{CASE_MANAGER}@agency.example")
    assert message["Subject"] == "Priority: risk flag for client C-1042"
    assert mailbox.to(f"{SUPERVISOR}@agency.example") == []


def test_client_without_a_case_manager_goes_to_the_intake_on_call(
    notifications: NotificationsApi,
) -> None:
    notifications.risk_flagged("moderate", case_manager=None, supervisor=None)
    notifications.dispatch(NOW)
    mailbox = notifications.mailbox
    assert mailbox is not None
    assert len(mailbox.to("intake-on-call@agency.example")) == 1


def test_urgent_alert_for_people_without_email_still_reaches_on_call(
    notifications: NotificationsApi,
) -> None:
    notifications.risk_flagged("high")  # nobody has preferences (no email address) on file
    notifications.dispatch(NOW)
    mailbox = notifications.mailbox
    assert mailbox is not None
    assert len(mailbox.to("on-call@agency.example")) == 1
    # on-call is a first recipient here: the first email already opens the crisis picture
    [first] = mailbox.to("on-call@agency.example")
    assert "/clients/c-1/emergency-access" in first.get_payload(decode=True).decode()


def test_redelivered_event_sends_nothing_twice(notifications: NotificationsApi) -> None:
    notifications.person(CASE_MANAGER)
    notifications.person(SUPERVISOR)
    event_id = notifications.risk_flagged("high")
    notifications.deliver(
        "intake.risk.flagged.v1",
        {
            "client_id": "c-1",
            "client_reference": "C-1042",
            "episode_id": "e-1",
            "flag_id": "f-1",
            "assessment_id": "a-1",
            "level": "high",
            "reasons": [],
            "case_manager_id": CASE_MANAGER,
            "supervisor_id": SUPERVISOR,
            "flagged_at": NOW,
        },
        event_id=event_id,
    )
    notifications.dispatch(NOW)
    notifications.dispatch(NOW + timedelta(minutes=1))
    mailbox = notifications.mailbox
    assert mailbox is not None
    assert len(mailbox.messages) == 2
    assert len(notifications.events("notification.delivered.v1")) == 2


def test_quiet_hours_hold_normal_items_until_they_end(notifications: NotificationsApi) -> None:
    notifications.person(CASE_MANAGER, quiet_start="13:00:00", quiet_end="15:00:00")
    notifications.case_assigned("C-2000")
    notifications.dispatch(NOW)
    mailbox = notifications.mailbox
    assert mailbox is not None
    assert mailbox.messages == []
    notifications.dispatch(NOW.replace(hour=15, minute=0, second=1))
    assert [m["Subject"] for m in mailbox.messages] == ["New client on your caseload: C-2000"]


def test_review_reminders_wait_for_the_daily_digest_and_arrive_together(
    notifications: NotificationsApi,
) -> None:
    notifications.person(CASE_MANAGER, daily_digest_at=time(8, 0).isoformat())
    for number in (1, 2):
        notifications.deliver(
            "planning.review.due.v1",
            {
                "review_id": f"r-{number}",
                "plan_id": f"p-{number}",
                "client_id": f"c-{number}",
                "episode_id": f"e-{number}",
                "due_on": "2026-11-23",
                "case_manager_id": CASE_MANAGER,
            },
        )
    notifications.dispatch(NOW)
    mailbox = notifications.mailbox
    assert mailbox is not None
    assert mailbox.messages == []
    notifications.dispatch(NOW + timedelta(days=1) - timedelta(hours=6))  # 08:00 next morning
    [digest] = mailbox.messages
    assert digest["Subject"] == "Casehub daily digest: 2 items"


def test_recording_an_alert_reads_the_recipients_preferences_once(
    notifications: NotificationsApi,
) -> None:
    """Each read was also a flush of one delivery: the consumer's largest cost per alert."""
    notifications.person(CASE_MANAGER)
    notifications.person(SUPERVISOR)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = notifications.runtime.database.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        notifications.risk_flagged("high")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len([s for s in statements if "FROM preferences" in s]) == 1
    [deliveries] = [s for s in statements if s.startswith("INSERT INTO deliveries")]
    assert deliveries  # the four deliveries (2 people x email, in-app) in one statement


def test_sending_an_alert_reads_the_address_with_the_delivery(
    notifications: NotificationsApi,
) -> None:
    """No query of its own for each email's address: one round trip fewer per message."""
    notifications.person(CASE_MANAGER)
    notifications.person(SUPERVISOR, email="supervisor@agency.example")
    notifications.risk_flagged("high")
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = notifications.runtime.database.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert notifications.dispatch(NOW) == 2
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert not [s for s in statements if "FROM preferences" in s]
    mailbox = notifications.mailbox
    assert mailbox is not None
    assert len(mailbox.to(f"{CASE_MANAGER}@agency.example")) == 1
    assert len(mailbox.to("supervisor@agency.example")) == 1


def test_the_banners_inbox_read_audits_each_alert_it_shows_and_nothing_more(
    notifications: NotificationsApi,
) -> None:
    """The crisis banner asks on every page: an empty answer writes no audit row, and each alert
    shown has its row, chained, whether one or several come back."""
    me = (CASE_MANAGER, "case_manager")
    banner = {"urgent": "true", "unacknowledged": "true", "limit": 50}
    notifications.person(CASE_MANAGER)
    admin = ("admin-1", "admin")

    def inbox_reads() -> list[str]:
        trail = notifications.call("GET", "/audit", as_=admin, query={"limit": 200}).json
        return [
            e["entity_id"]
            for e in trail["items"]
            if e["entity"] == "notification" and e["actor"] == CASE_MANAGER
        ]

    assert notifications.call("GET", "/me/notifications", as_=me, query=banner).json["items"] == []
    assert inbox_reads() == []
    notifications.risk_flagged("high", client_id="c-1", client_reference="C-1042")
    [one] = notifications.call("GET", "/me/notifications", as_=me, query=banner).json["items"]
    assert inbox_reads() == [one["notification_id"]]
    notifications.risk_flagged("high", client_id="c-2", client_reference="C-2000")
    two = notifications.call("GET", "/me/notifications", as_=me, query=banner).json["items"]
    assert len(two) == 2
    assert sorted(inbox_reads()) == sorted(
        [one["notification_id"]] + [i["notification_id"] for i in two]
    )
    with notifications.runtime.database.read_session() as session:
        assert AuditTrail(MetaData()).verify(session).intact
