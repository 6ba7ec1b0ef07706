"""Migration notifications_0006_recipients: deliveries recorded before it ("sup-1#escalation1"
in the recipient) are backfilled to exact recipients with their escalation level, and keep
working: the reminder's recipient may acknowledge, on-call's rows are on-call's."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text

from shared.db import create_database_engine
from shared.migrations import alembic_config
from shared.service import ServiceRuntime
from tests.notifications.conftest import NOW, NotificationsApi
from tests.support.backends import Backend
from tests.support.migrations import database_at, runtime_on

BEFORE = "notifications_0005"
CRISIS_RULE = "a6b1c7e0-0000-4000-8000-000000000001"
OLD_ROWS = [
    # id, recipient (as recorded before the migration), channel
    ("d-1", "cm-1", "in_app"),
    ("d-2", "sup-1", "email"),
    ("d-3", "on_call", "email"),
    ("d-4", "sup-1#escalation1", "email"),
    ("d-5", "on_call#escalation2", "email"),
]


def _old_database(backend: Backend, data_dir: Path) -> tuple[ServiceRuntime, str]:
    """A notifications database at the revision before, holding one escalated crisis alert."""
    url = database_at("notifications", BEFORE, backend, data_dir)
    engine = create_database_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO notifications (id, event_id, event_type, rule_id, client_id,"
                " client_reference, supervisor_id, urgency, subject, body, created_at,"
                " escalation_level, escalate_at) VALUES ('n-1', 'e-1',"
                " 'casehub.intake.risk.flagged.v1', :rule, 'c-1', 'C-1042', 'sup-1', 'urgent',"
                " 'URGENT', 'body', :now, 2, NULL)"
            ),
            {"rule": CRISIS_RULE, "now": NOW},
        )
        for delivery_id, recipient, channel in OLD_ROWS:
            connection.execute(
                text(
                    "INSERT INTO deliveries (id, notification_id, recipient, channel, status,"
                    " digest, attempts, next_attempt_at) VALUES (:id, 'n-1', :recipient,"
                    " :channel, 'delivered', :no, 1, :now)"
                ),
                {
                    "id": delivery_id,
                    "recipient": recipient,
                    "channel": channel,
                    "now": NOW,
                    "no": False,
                },
            )
    engine.dispose()
    return runtime_on("notifications", url, backend, data_dir), url


def test_old_deliveries_are_backfilled_to_exact_recipients_and_still_work(
    backend: Backend, data_dir: Path
) -> None:
    runtime, url = _old_database(backend, data_dir)
    runtime.migrate()
    api = NotificationsApi(runtime, runtime.create_app().test_client())
    try:
        log = api.call("GET", "/deliveries", as_=("admin-1", "admin")).json["items"]
        assert sorted(
            (d["id"], d["recipient"], d["recipient_kind"], d["escalation_level"]) for d in log
        ) == [
            ("d-1", "cm-1", "person", 0),
            ("d-2", "sup-1", "person", 0),
            ("d-3", "on_call", "on_call", 0),
            ("d-4", "sup-1", "person", 1),
            ("d-5", "on_call", "on_call", 2),
        ]
        assert (
            api.call(
                "POST", "/notifications/n-1/acknowledge", as_=("on_call", "supervisor")
            ).status_code
            == 404
        )
        acknowledged = api.call(
            "POST", "/notifications/n-1/acknowledge", as_=("sup-1", "supervisor")
        )
        assert acknowledged.status_code == 200, acknowledged.json
    finally:
        runtime.database.dispose()

    command.downgrade(alembic_config(runtime.spec.migrations, url), BEFORE)  # type: ignore[arg-type]
    engine = create_database_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, recipient, channel FROM deliveries"))
            assert sorted(tuple(row) for row in rows) == OLD_ROWS
    finally:
        engine.dispose()
