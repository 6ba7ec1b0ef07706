"""The delivery log (GET /deliveries): an admin sees every delivery, a supervisor only those
concerning their team, as intake's latest assignments make it up."""

from __future__ import annotations

from typing import Any

from tests.notifications.conftest import NotificationsApi

ADMIN = ("admin-1", "admin")


def _log(notifications: NotificationsApi, caller: tuple[str, str], **query: Any) -> list[dict]:
    """Every page of the log as this caller sees it."""
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = notifications.call(
            "GET",
            "/deliveries",
            as_=caller,
            query={"limit": 5, **query, **({"cursor": cursor} if cursor else {})},
        )
        assert page.status_code == 200, page.json
        seen += page.json["items"]
        cursor = page.json["next_cursor"]
        if cursor is None:
            return seen


def _ids(deliveries: list[dict[str, Any]]) -> set[str]:
    return {d["id"] for d in deliveries}


def _alert(notifications: NotificationsApi, reference: str, cm: str | None, sup: str | None) -> str:
    event_id = notifications.risk_flagged(
        "high",
        client_id=f"c-{reference}",
        client_reference=reference,
        case_manager=cm,
        supervisor=sup,
    )
    [alert] = notifications.notified[event_id]
    return alert


def _assign(notifications: NotificationsApi, reference: str, cm: str, sup: str) -> None:
    notifications.case_assigned(
        reference, client_id=f"c-{reference}", case_manager=cm, supervisor=sup
    )


def test_a_supervisor_sees_only_deliveries_concerning_their_team(
    notifications: NotificationsApi,
) -> None:
    for person in ("cm-1", "sup-1", "cm-2", "sup-2"):
        notifications.person(person)
    _assign(notifications, "C-1001", "cm-1", "sup-1")
    _assign(notifications, "C-1002", "cm-2", "sup-2")
    ours = _alert(notifications, "C-1001", "cm-1", "sup-1")
    theirs = _alert(notifications, "C-1002", "cm-2", "sup-2")
    unassigned = _alert(notifications, "C-1003", None, None)

    everything = _log(notifications, ADMIN)
    by_notification: dict[str, set[str]] = {}
    for delivery in everything:
        by_notification.setdefault(delivery["notification_id"], set()).add(delivery["id"])
    assert set(by_notification) >= {ours, theirs, unassigned}
    sup_1 = _log(notifications, ("sup-1", "supervisor"))
    sup_2 = _log(notifications, ("sup-2", "supervisor"))
    # the assignment emails to cm-1 / cm-2 are theirs too
    assert {d["notification_id"] for d in sup_1} - {ours} == {
        d["notification_id"] for d in everything if d["recipient"] == "cm-1"
    } - {ours}
    assert by_notification[ours] <= _ids(sup_1)
    assert not (by_notification[theirs] | by_notification[unassigned]) & _ids(sup_1)
    assert by_notification[theirs] <= _ids(sup_2)
    assert not (by_notification[ours] | by_notification[unassigned]) & _ids(sup_2)
    assert {d["recipient"] for d in sup_1} == {"cm-1", "sup-1"}
    assert _log(notifications, ("sup-1", "supervisor"), notification_id=theirs) == []
    assert _log(notifications, ("SUP-1", "supervisor")) == []
    assert _log(notifications, ("sup-%", "supervisor")) == []


def test_a_client_moving_to_another_team_moves_their_deliveries_with_them(
    notifications: NotificationsApi,
) -> None:
    for person in ("cm-1", "sup-1", "cm-2", "sup-2"):
        notifications.person(person)
    _assign(notifications, "C-1001", "cm-1", "sup-1")
    _assign(notifications, "C-1002", "cm-2", "sup-2")
    moved = _alert(notifications, "C-1002", "cm-2", "sup-2")
    before = {d["id"] for d in _log(notifications, ADMIN, notification_id=moved)}
    assert _ids(_log(notifications, ("sup-2", "supervisor"), notification_id=moved)) == before

    _assign(notifications, "C-1002", "cm-1", "sup-1")  # intake reassigns the client

    assert _ids(_log(notifications, ("sup-1", "supervisor"), notification_id=moved)) == before
    left_behind = _log(notifications, ("sup-2", "supervisor"), notification_id=moved)
    assert {d["recipient"] for d in left_behind} == {"sup-2"}  # only what was sent to her


def test_a_client_not_yet_assigned_here_belongs_to_the_supervisor_the_alert_named(
    notifications: NotificationsApi,
) -> None:
    alert = _alert(notifications, "C-1004", "cm-4", "sup-1")  # no assignment event seen yet
    mine = _log(notifications, ("sup-1", "supervisor"), notification_id=alert)
    # in-app to both; nobody has an email address on file, so on-call by email
    assert {d["recipient"] for d in mine} == {"cm-4", "sup-1", "on_call"}
    assert _log(notifications, ("sup-2", "supervisor"), notification_id=alert) == []
