"""Sending over real channels: SMTP email and signed webhooks. Messages carry minimal PHI."""

from __future__ import annotations

import os
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from jinja2 import Environment, StrictUndefined

from shared.webhooks import post_signed

#: Subject and body per template. Only the client's reference and the urgency appear: no names,
#: diagnoses, scores or reasons ("open Casehub" is where the detail lives, behind a login).
TEMPLATES: dict[str, tuple[str, str]] = {
    "crisis_alert": (
        "URGENT: crisis alert for client {{ client_reference }}",
        "You have an urgent alert for client {{ client_reference }}. Open Casehub now and acknowledge it: "
        "{{ app_url }}/notifications/{{ notification_id }}\n"
        "{% if escalation_level %}Nobody has acknowledged it yet (escalation {{ escalation_level }}).{% endif %}",
    ),
    "risk_priority": (
        "Priority: risk flag for client {{ client_reference }}",
        "A risk flag needs your attention for client {{ client_reference }}. Open Casehub: "
        "{{ app_url }}/notifications/{{ notification_id }}",
    ),
    "review_due": (
        "Plan review due for client {{ client_reference }}",
        "A service plan review is due for client {{ client_reference }}. Open Casehub: {{ app_url }}",
    ),
    "referral_update": (
        "Referral update for client {{ client_reference }}",
        "A partner has completed a referral for client {{ client_reference }}. Open Casehub: {{ app_url }}",
    ),
    "new_assignment": (
        "New client on your caseload: {{ client_reference }}",
        "Client {{ client_reference }} has been assigned to you. Open Casehub: {{ app_url }}",
    ),
}
_environment = Environment(autoescape=True, undefined=StrictUndefined)


def render(template: str, **values: Any) -> tuple[str, str]:
    subject, body = TEMPLATES[template]
    return (
        _environment.from_string(subject).render(**values),
        _environment.from_string(body).render(**values),
    )


@dataclass(frozen=True)
class ChannelConfig:
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_timeout: float = 10.0
    sender: str = "casehub@localhost"
    on_call_email: str = "on-call@localhost"
    intake_on_call_email: str = "intake-on-call@localhost"
    app_url: str = "http://127.0.0.1:8004"
    webhook_timeout: float = 5.0

    @classmethod
    def from_env(cls) -> ChannelConfig:
        env = os.environ
        return cls(
            smtp_host=env.get("NOTIFICATIONS_SMTP_HOST", "127.0.0.1"),
            smtp_port=int(env.get("NOTIFICATIONS_SMTP_PORT", "1025")),
            sender=env.get("NOTIFICATIONS_FROM", "casehub@localhost"),
            on_call_email=env.get("NOTIFICATIONS_ON_CALL_EMAIL", "on-call@localhost"),
            intake_on_call_email=env.get(
                "NOTIFICATIONS_INTAKE_ON_CALL_EMAIL", "intake-on-call@localhost"
            ),
            app_url=env.get("CASEHUB_APP_URL", "http://127.0.0.1:8004"),
        )


def send_email(config: ChannelConfig, to: str, subject: str, body: str) -> None:
    """Raises on any SMTP failure (the dispatcher retries with backoff)."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = config.sender, to, subject
    message.set_content(body)
    with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.smtp_timeout) as smtp:
        smtp.send_message(message)


def send_webhook(config: ChannelConfig, url: str, secret: str, payload: dict[str, Any]) -> None:
    post_signed(url, secret, payload, timeout=config.webhook_timeout)
