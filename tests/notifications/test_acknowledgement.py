"""Who may acknowledge a crisis alert (which stops its escalation): someone it reached, matched
exactly, and on-call by its role, never by a subject that looks like a recipient."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from services.notifications.models import Notification
from tests.notifications.conftest import NOW, NotificationsApi

CASE_MANAGER, SUPERVISOR = "cm-ana", "sup-maria"
LEVEL_1 = NOW + timedelta(minutes=15, seconds=1)
LEVEL_2 = NOW + timedelta(minutes=30, seconds=2)


def _alert(notifications: NotificationsApi, **people: str | None) -> str:
    event_id = notifications.risk_flagged("high", **people)  # type: ignore[arg-type]
    [alert] = notifications.notified[event_id]
    return alert


def _acknowledge(notifications: NotificationsApi, alert: str, sub: str, role: str) -> int:
    response = notifications.call("POST", f"/notifications/{alert}/acknowledge", as_=(sub, role))
    return int(response.status_code)


def _acknowledged_by(notifications: NotificationsApi, alert: str) -> list[str]:
    return [
        e["data"]["acknowledged_by"]
        for e in notifications.events("notification.acknowledged.v1")
        if e["data"]["notification_id"] == alert
    ]


@pytest.mark.parametrize(
    ("sub", "role"),
    [
        ("%", "case_manager"),  # a LIKE wildcard for any recipient
        ("%", "supervisor"),
        ("sup_maria", "supervisor"),  # "_" matched the "-" of sup-maria
        ("SUP-MARIA", "supervisor"),  # SQLite's LIKE ignores case
        ("sup-maria%", "supervisor"),
        ("sup-maria#escalation1", "supervisor"),  # the old recipient of her reminder
        ("Cm-Ana", "case_manager"),
    ],
)
def test_a_look_alike_subject_cannot_acknowledge_someone_elses_alert(
    notifications: NotificationsApi, sub: str, role: str
) -> None:
    notifications.person(CASE_MANAGER)
    notifications.person(SUPERVISOR)
    alert = _alert(notifications, case_manager=CASE_MANAGER, supervisor=SUPERVISOR)
    notifications.dispatch(NOW)
    assert notifications.escalate(LEVEL_1) == 1  # sup-maria's reminder is out too
    notifications.dispatch(LEVEL_1)

    assert _acknowledge(notifications, alert, sub, role) == 404
    inbox = notifications.call("GET", "/me/notifications", as_=(sub, role)).json["items"]
    assert inbox == []
    assert _acknowledged_by(notifications, alert) == []
    assert notifications.escalate(LEVEL_2) == 1  # still escalating: nobody acknowledged it
    assert _acknowledge(notifications, alert, SUPERVISOR, "supervisor") == 200
    assert _acknowledged_by(notifications, alert) == [SUPERVISOR]
    # the case manager's own copy says someone is acting, and who
    [told] = notifications.call(
        "GET", "/me/notifications", as_=(CASE_MANAGER, "case_manager")
    ).json["items"]
    assert told["acknowledged_by"] == SUPERVISOR and told["acknowledged_at"]


@pytest.mark.parametrize(
    ("sub", "role"),
    [
        ("on_call", "case_manager"),
        ("on_call", "supervisor"),
        ("on_call", "intake_worker"),
        ("intake_on_call", "intake_worker"),
    ],
)
def test_a_subject_named_like_on_call_cannot_acknowledge_an_unassigned_clients_alert(
    notifications: NotificationsApi, sub: str, role: str
) -> None:
    alert = _alert(notifications, case_manager=None, supervisor=None)
    notifications.dispatch(NOW)
    assert _acknowledge(notifications, alert, sub, role) == 404
    assert _acknowledged_by(notifications, alert) == []
    assert notifications.escalate(LEVEL_1) == 1


def test_the_on_call_role_acknowledges_what_reached_on_call(
    notifications: NotificationsApi,
) -> None:
    unassigned = _alert(notifications, case_manager=None, supervisor=None)
    notifications.dispatch(NOW)
    on_call = ("dr-night", "on_call")
    acknowledged = notifications.call(
        "POST", f"/notifications/{unassigned}/acknowledge", as_=on_call
    )
    assert acknowledged.status_code == 200, acknowledged.json
    assert acknowledged.json["acknowledged_by"] == "dr-night"
    assert notifications.escalate(LEVEL_2) == 0


def test_the_on_call_role_acknowledges_an_assigned_clients_alert_once_it_reached_on_call(
    notifications: NotificationsApi,
) -> None:
    notifications.person(CASE_MANAGER)
    notifications.person(SUPERVISOR)
    alert = _alert(notifications, case_manager=CASE_MANAGER, supervisor=SUPERVISOR)
    notifications.dispatch(NOW)
    on_call = ("dr-night", "on_call")
    assert _acknowledge(notifications, alert, *on_call) == 404  # on-call was not told yet
    assert notifications.escalate(LEVEL_1) == 1  # the supervisor again
    assert _acknowledge(notifications, alert, *on_call) == 404
    assert notifications.escalate(LEVEL_2) == 1  # now on-call
    assert _acknowledge(notifications, alert, *on_call) == 200
    assert _acknowledged_by(notifications, alert) == ["dr-night"]


def test_an_on_call_role_without_staff_roles_reads_no_inbox_or_delivery_log(
    notifications: NotificationsApi,
) -> None:
    on_call = ("dr-night", "on_call")
    assert notifications.call("GET", "/me/notifications", as_=on_call).status_code == 403
    assert notifications.call("GET", "/deliveries", as_=on_call).status_code == 403


def test_the_supervisor_acknowledges_through_her_reminder_alone(
    notifications: NotificationsApi,
) -> None:
    """She was told only by the escalation (the client's new supervisor): her reminder is hers,
    matched exactly, so she may acknowledge."""
    notifications.person(CASE_MANAGER)
    notifications.person(SUPERVISOR)
    alert = _alert(notifications, case_manager=CASE_MANAGER, supervisor="sup-old")
    notifications.case_assigned(
        "C-1042", client_id="c-1", case_manager=CASE_MANAGER, supervisor=SUPERVISOR
    )
    assert _acknowledge(notifications, alert, SUPERVISOR, "supervisor") == 404
    assert notifications.escalate(LEVEL_1) == 1
    assert _acknowledge(notifications, alert, SUPERVISOR, "supervisor") == 200


def test_on_call_sees_the_alerts_waiting_for_it_longest_first_until_acknowledged(
    notifications: NotificationsApi,
) -> None:
    """The on-call worker's queue: alerts that reached on-call and nobody acknowledged, each
    read audited; an alert still with its case manager and supervisor is not there yet."""
    notifications.person(CASE_MANAGER)
    notifications.person(SUPERVISOR)
    earlier = notifications.risk_flagged(  # a client without a case manager: on-call at once
        "high", case_manager=None, supervisor=None, now=NOW - timedelta(minutes=1)
    )
    [unassigned] = notifications.notified[earlier]
    assigned = _alert(notifications, case_manager=CASE_MANAGER, supervisor=SUPERVISOR)
    notifications.dispatch(NOW)
    on_call = ("dr-night", "on_call")

    def queue() -> list[str]:
        answer = notifications.call("GET", "/notifications/on-call", as_=on_call)
        assert answer.status_code == 200, answer.json
        return [item["id"] for item in answer.json["items"]]

    assert queue() == [unassigned]
    assert notifications.escalate(LEVEL_1) == 2
    assert queue() == [unassigned]  # the assigned client's alert is with the supervisor now
    assert notifications.escalate(LEVEL_2) == 2  # on-call reminded, and now told of the other
    assert queue() == [unassigned, assigned]  # the longest waiting first
    page = notifications.call("GET", "/notifications/on-call?limit=1", as_=on_call).json
    assert [item["id"] for item in page["items"]] == [unassigned] and page["next_cursor"]
    first = page["items"][0]  # enough to open the client's emergency access page
    assert (first["client_id"], first["client_reference"]) == ("c-1", "C-1042")
    audit = notifications.call("GET", "/audit", as_=("admin-1", "admin")).json["items"]
    assert {
        entry["entity_id"]
        for entry in audit
        if entry["action"] == "read" and entry["actor"] == "dr-night"
    } == {unassigned, assigned}
    assert _acknowledge(notifications, unassigned, *on_call) == 200
    assert queue() == [assigned]
    assert _acknowledge(notifications, assigned, CASE_MANAGER, "case_manager") == 200
    assert queue() == []
    refused = notifications.call(
        "GET", "/notifications/on-call", as_=(CASE_MANAGER, "case_manager")
    )
    assert refused.status_code == 403


def test_on_call_opens_one_alert_that_reached_it_waiting_or_acknowledged(
    notifications: NotificationsApi,
) -> None:
    """The alert page on-call opens from its queue or email: whether it still waits, or who took
    it and when; an alert that never reached on-call does not exist for on-call."""
    notifications.person(CASE_MANAGER)
    notifications.person(SUPERVISOR)
    assigned = _alert(notifications, case_manager=CASE_MANAGER, supervisor=SUPERVISOR)
    notifications.dispatch(NOW)
    on_call = ("dr-night", "on_call")

    def opened(as_: tuple[str, str] = on_call) -> tuple[int, dict]:
        answer = notifications.call("GET", f"/notifications/on-call/{assigned}", as_=as_)
        return int(answer.status_code), answer.json

    assert opened()[0] == 404  # still with its case manager: not on-call's to see
    assert notifications.escalate(LEVEL_1) == 1
    assert notifications.escalate(LEVEL_2) == 1  # now on-call
    status, alert = opened()
    assert status == 200, alert
    assert (alert["id"], alert["urgency"], alert["client_reference"]) == (
        assigned,
        "urgent",
        "C-1042",
    )
    assert alert["acknowledged_at"] is None and alert["client_id"] == "c-1"
    assert _acknowledge(notifications, assigned, CASE_MANAGER, "case_manager") == 200
    status, alert = opened()  # no longer in the queue, still open to on-call: who took it
    assert status == 200 and alert["acknowledged_by"] == CASE_MANAGER and alert["acknowledged_at"]
    audit = notifications.call("GET", "/audit", as_=("admin-1", "admin")).json["items"]
    assert [
        entry["entity_id"]
        for entry in audit
        if entry["action"] == "read" and entry["actor"] == "dr-night"
    ] == [assigned, assigned]
    assert opened((CASE_MANAGER, "case_manager"))[0] == 403
    assert (
        notifications.call("GET", "/notifications/on-call/no-such-alert", as_=on_call).status_code
        == 404
    )


def test_on_calls_handover_lists_what_was_acknowledged_in_the_last_day_latest_first(
    notifications: NotificationsApi,
) -> None:
    """A shift starting sees who took which alert that reached on-call; an alert acknowledged
    before it reached on-call, or more than a day ago, is not on it."""
    notifications.person(CASE_MANAGER)
    notifications.person(SUPERVISOR)
    alerts = {}
    for minutes in (3, 2, 1):  # three clients nobody carries: on-call at once
        event_id = notifications.risk_flagged(
            "high",
            case_manager=None,
            supervisor=None,
            client_id=f"c-{minutes}",
            client_reference=f"C-100{minutes}",
            now=NOW - timedelta(minutes=minutes),
        )
        [alerts[minutes]] = notifications.notified[event_id]
    with_her = _alert(notifications, case_manager=CASE_MANAGER, supervisor=SUPERVISOR)
    on_call = ("dr-night", "on_call")

    def handover() -> list[tuple[str, str]]:
        answer = notifications.call("GET", "/notifications/on-call?acknowledged=true", as_=on_call)
        assert answer.status_code == 200, answer.json
        return [(item["id"], item["acknowledged_by"]) for item in answer.json["items"]]

    assert handover() == []
    assert _acknowledge(notifications, alerts[3], "dr-night", "on_call") == 200
    assert _acknowledge(notifications, alerts[1], "dr-day", "on_call") == 200
    assert _acknowledge(notifications, with_her, CASE_MANAGER, "case_manager") == 200
    assert _acknowledge(notifications, alerts[2], "dr-day", "on_call") == 200
    with notifications.runtime.unit_of_work() as uow:  # one of them was taken two days ago
        taken = uow.session.get(Notification, alerts[2])
        assert taken is not None and taken.acknowledged_at is not None
        uow.session.execute(
            update(Notification)
            .where(Notification.id == alerts[2])
            .values(acknowledged_at=taken.acknowledged_at - timedelta(days=2))
        )
    assert handover() == [(alerts[1], "dr-day"), (alerts[3], "dr-night")]
    page = notifications.call(
        "GET", "/notifications/on-call?acknowledged=true&limit=1", as_=on_call
    ).json
    assert [item["id"] for item in page["items"]] == [alerts[1]] and page["next_cursor"]
    rest = notifications.call(
        "GET",
        "/notifications/on-call",
        query={"acknowledged": "true", "limit": 1, "cursor": page["next_cursor"]},
        as_=on_call,
    ).json
    assert [item["id"] for item in rest["items"]] == [alerts[3]] and rest["next_cursor"] is None
    assert notifications.call("GET", "/notifications/on-call", as_=on_call).json["items"] == []
    refused = notifications.call(
        "GET", "/notifications/on-call?acknowledged=true", as_=(CASE_MANAGER, "case_manager")
    )
    assert refused.status_code == 403
