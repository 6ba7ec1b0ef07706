"""The case manager hears of every partner answer, and a partner's admin of a disabled webhook."""

from __future__ import annotations

import pytest

from tests.notifications.conftest import NOW, NotificationsApi


def _referral(status: str, **extra: object) -> dict[str, object]:
    return {
        "referral_id": "r-1",
        "client_id": "c-2",
        "client_reference": "C-2000",
        "organization_id": "housing-first",
        "status": status,
        "at": NOW,
        **extra,
    }


@pytest.mark.parametrize(
    ("routing_key", "data", "subject"),
    [
        (
            "referrals.referral.rejected.v1",
            _referral("rejected", reason_code="no_capacity"),
            "Referral rejected for client C-2000",
        ),
        (
            "referrals.referral.failed.v1",
            _referral("failed", reason_code="could_not_contact"),
            "Referral failed for client C-2000",
        ),
        (
            "referrals.referral.overdue.v1",
            _referral("requested", sent_at=NOW),
            "Referral overdue for client C-2000",
        ),
        (
            "referrals.referral.completed.v1",
            _referral("completed", outcome="Housed"),
            "Referral update for client C-2000",
        ),
    ],
)
def test_the_case_manager_is_told_of_every_partner_answer(
    notifications: NotificationsApi, routing_key: str, data: dict[str, object], subject: str
) -> None:
    notifications.person("cm-1")
    notifications.case_assigned()
    notifications.deliver(routing_key, data)
    inbox = notifications.call("GET", "/me/notifications", as_=("cm-1", "case_manager")).json
    assert subject in [item["subject"] for item in inbox["items"]]
    notifications.dispatch(NOW)
    assert any(m["Subject"] == subject for m in notifications.mailbox.to("cm-1@agency.example"))


def test_a_partners_admin_contact_is_emailed_when_its_webhook_is_disabled(
    notifications: NotificationsApi,
) -> None:
    notifications.deliver(
        "referrals.webhook.disabled.v1",
        {
            "subscription_id": "w-1",
            "organization_id": "housing-first",
            "url": "https://partner.example/casehub",
            "failed_attempts": 9,
            "failing_since": NOW,
            "disabled_at": NOW,
            "contact_email": "it@housing.example",
        },
    )
    assert notifications.dispatch(NOW) == 1
    [mail] = notifications.mailbox.to("it@housing.example")
    assert mail["Subject"] == "Casehub webhook disabled"
    body = mail.get_payload()
    assert "/partner/webhooks/w-1/reactivate" in body and "C-" not in body
