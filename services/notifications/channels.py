"""Sending over real channels: SMTP email and signed webhooks. Messages carry minimal PHI."""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from functools import cache
from typing import Any

from jinja2 import Environment, StrictUndefined, Template

from shared.outbound import OutboundGuard
from shared.webhooks import post_signed

#: Subject and body per template. Only the client's reference and the urgency appear: no names,
#: diagnoses, scores or reasons ("open Casehub" is where the detail lives, behind a login).
TEMPLATES: dict[str, tuple[str, str]] = {
    "crisis_alert": (
        "URGENT: crisis alert for client {{ client_reference }}",
        "You have an urgent alert for client {{ client_reference }}. Open Casehub now and acknowledge it: "
        "{{ app_url }}/notifications/{{ notification_id }}\n"
        "{% if escalation_level %}Nobody has acknowledged it yet ({% if on_call_reminder %}reminder "
        "{{ on_call_reminder }} of {{ on_call_reminders }} to on-call{% else %}escalation "
        "{{ escalation_level }}{% endif %}).\n{% endif %}"
        "{% if client_id %}On call or supervising another team? Open the client's crisis picture with "
        "emergency access (state why; it is audited): "
        "{{ app_url }}/clients/{{ client_id }}/emergency-access\n{% endif %}",
    ),
    "emergency_access": (
        "Emergency access used for client {{ client_reference }}",
        "Someone used emergency (break-the-glass) access to the crisis picture of client "
        "{{ client_reference }}, a client of your team. Review who and why in Casehub: "
        "{{ app_url }}/notifications/{{ notification_id }}",
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
    "referral_rejected": (
        "Referral rejected for client {{ client_reference }}",
        "A partner has rejected a referral for client {{ client_reference }}. Open Casehub to "
        "refer elsewhere: {{ app_url }}",
    ),
    "referral_failed": (
        "Referral failed for client {{ client_reference }}",
        "A partner could not complete a referral for client {{ client_reference }}. Open "
        "Casehub: {{ app_url }}",
    ),
    "referral_overdue": (
        "Referral overdue for client {{ client_reference }}",
        "A partner has not answered a referral for client {{ client_reference }} in time. Open "
        "Casehub: {{ app_url }}",
    ),
    "partner_webhook_disabled": (
        "Casehub webhook disabled",
        "Your organisation's Casehub webhook subscription {{ event.subscription_id }} failed "
        "{{ event.failed_attempts }} times in a row since {{ event.failing_since }} and was "
        "disabled. No event is lost: the pull feed GET /partner/events keeps them. Once your "
        "endpoint answers again, turn it back on with POST /partner/webhooks/"
        "{{ event.subscription_id }}/reactivate.",
    ),
    "new_assignment": (
        "New client on your caseload: {{ client_reference }}",
        "Client {{ client_reference }} has been assigned to you. Open Casehub: {{ app_url }}",
    ),
    "appointment_reminder": (
        "Appointment tomorrow with client {{ client_reference }}",
        "Reminder: you have an appointment with client {{ client_reference }} on {{ when }}"
        "{% if video %} (video){% endif %}. Open Casehub: {{ app_url }}",
    ),
    #: To the client themself: the time only. No reference, no place, nothing clinical.
    "appointment_reminder_client": (
        "Appointment reminder",
        "Reminder: you have an appointment with your case worker on {{ when }}"
        "{% if video %} by video{% endif %}. If you cannot make it, please let your case worker "
        "know.",
    ),
}
#: Sent to the client (by e-mail or SMS), never to staff: the text names no client reference.
CLIENT_TEMPLATES = frozenset({"appointment_reminder_client"})
#: Written to a partner organisation's contact about its own integration: no client in them.
PARTNER_TEMPLATES = frozenset({"partner_webhook_disabled"})
_environment = Environment(autoescape=True, undefined=StrictUndefined)


@cache
def _compiled(source: str) -> Template:
    """Compiling a template takes milliseconds (the profile of the crisis path showed it):
    each one is compiled once per process."""
    return _environment.from_string(source)


def render(template: str, **values: Any) -> tuple[str, str]:
    subject, body = TEMPLATES[template]
    values.setdefault("client_id", "")  # the emergency-access link, where there is a client
    values.setdefault("on_call_reminder", 0)  # which reminder to on-call an escalation is
    return _compiled(subject).render(**values), _compiled(body).render(**values)


class SmtpSettingsError(ValueError):
    """The SMTP settings would send the relay's password in clear: refused before connecting."""


_STARTTLS_WORDS = {"starttls", "true", "1", "yes", "on"}
_PLAIN_WORDS = {"none", "false", "0", "no", "off", ""}


def _starttls(value: str) -> bool:
    word = value.strip().lower()
    if word not in _STARTTLS_WORDS | _PLAIN_WORDS:
        raise SmtpSettingsError(f"NOTIFICATIONS_SMTP_TLS must be starttls or none, not {value!r}")
    return word in _STARTTLS_WORDS


@dataclass(frozen=True)
class ChannelConfig:
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_timeout: float = 10.0
    #: STARTTLS before anything else (``NOTIFICATIONS_SMTP_TLS=starttls``): the server's
    #: certificate is verified against the system's CAs or ``smtp_ca_file``, and a server that
    #: does not offer STARTTLS is refused, never used in clear.
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_ca_file: str | None = None
    sender: str = "casehub@localhost"
    on_call_email: str = "on-call@localhost"
    intake_on_call_email: str = "intake-on-call@localhost"
    app_url: str = "http://127.0.0.1:8000"
    webhook_timeout: float = 5.0
    #: The SMS gateway's webhook (``NOTIFICATIONS_SMS_WEBHOOK_URL``): a JSON ``{to, body, id}``
    #: POST signed with ``sms_webhook_secret``, under the same outbound rules as any webhook.
    sms_webhook_url: str | None = None
    sms_webhook_secret: str | None = field(default=None, repr=False)
    #: Where people's webhooks may go (the service's, see ``ServiceRuntime.outbound``).
    outbound: OutboundGuard = field(default_factory=OutboundGuard)

    @classmethod
    def from_env(cls, outbound: OutboundGuard | None = None) -> ChannelConfig:
        env = os.environ
        return cls(
            outbound=outbound or OutboundGuard(),
            smtp_host=env.get("NOTIFICATIONS_SMTP_HOST", "127.0.0.1"),
            smtp_port=int(env.get("NOTIFICATIONS_SMTP_PORT", "1025")),
            smtp_starttls=_starttls(env.get("NOTIFICATIONS_SMTP_TLS", "none")),
            smtp_user=env.get("NOTIFICATIONS_SMTP_USER") or None,
            smtp_password=env.get("NOTIFICATIONS_SMTP_PASSWORD") or None,
            smtp_ca_file=env.get("NOTIFICATIONS_SMTP_CA_FILE") or None,
            sender=env.get("NOTIFICATIONS_FROM", "casehub@localhost"),
            on_call_email=env.get("NOTIFICATIONS_ON_CALL_EMAIL", "on-call@localhost"),
            intake_on_call_email=env.get(
                "NOTIFICATIONS_INTAKE_ON_CALL_EMAIL", "intake-on-call@localhost"
            ),
            app_url=env.get("CASEHUB_APP_URL", "http://127.0.0.1:8000"),
            sms_webhook_url=env.get("NOTIFICATIONS_SMS_WEBHOOK_URL") or None,
            sms_webhook_secret=env.get("NOTIFICATIONS_SMS_WEBHOOK_SECRET") or None,
        )


#: Domains that never reach a person (RFC 2606 / RFC 6761): an on-call address there is a
#: placeholder left from an example configuration.
PLACEHOLDER_DOMAINS = ("localhost", "example.com", "example.org", "example.net")
PLACEHOLDER_SUFFIXES = (".localhost", ".example", ".invalid", ".test", ".local")

#: The settings naming who is on call, with the ChannelConfig field each fills.
ON_CALL_SETTINGS = {
    "NOTIFICATIONS_ON_CALL_EMAIL": "on_call_email",
    "NOTIFICATIONS_INTAKE_ON_CALL_EMAIL": "intake_on_call_email",
}


def placeholder_address(address: str) -> bool:
    """True when no person can receive mail at ``address`` (empty, no domain, or a reserved one)."""
    _, at, domain = address.strip().rpartition("@")
    domain = domain.lower().rstrip(".")
    if not at or not domain:
        return True
    return domain in PLACEHOLDER_DOMAINS or domain.endswith(PLACEHOLDER_SUFFIXES)


def on_call_review(config: ChannelConfig, *, embedded_default: bool) -> dict[str, str | None]:
    """Whether the crisis path's last step reaches a person: outside the embedded default (a
    laptop, mail caught locally) each on-call address must be a real one."""
    review: dict[str, str | None] = {}
    for setting, field_name in ON_CALL_SETTINGS.items():
        address = getattr(config, field_name)
        review[setting] = (
            f"{setting} is {address!r}, which reaches nobody: escalated crisis alerts would be "
            "lost. Set it to the on-call team's mailbox."
            if not embedded_default and placeholder_address(address)
            else None
        )
    return review


def _email(
    config: ChannelConfig, to: str, subject: str, body: str, message_id: str
) -> EmailMessage:
    """The Message-ID is the delivery's, so a message repeated after a crash is recognisably
    the same one."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = config.sender, to, subject
    message["Message-ID"] = message_id
    message.set_content(body)
    return message


class Mailer:
    """One SMTP connection for many dispatcher runs: a burst of crisis alerts is many emails, and
    a connection each (connect, EHLO, QUIT) was most of the dispatcher's time. A connection the
    server dropped is reopened once; any other failure raises (the dispatcher retries)."""

    def __init__(self, config: ChannelConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def send(self, to: str, subject: str, body: str, *, message_id: str) -> None:
        message = _email(self.config, to, subject, body, message_id)
        fresh = self._smtp is None
        try:
            self._connection().send_message(message)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            self.close()
            if fresh:
                raise
            self._connection().send_message(message)
        except OSError:  # e.g. a timeout mid-message: the next one needs a clean connection
            self.close()
            raise

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            config = self.config
            if config.smtp_user and not config.smtp_starttls:
                raise SmtpSettingsError(
                    "NOTIFICATIONS_SMTP_USER is set but NOTIFICATIONS_SMTP_TLS is not starttls: "
                    "the password would cross the network in clear"
                )
            smtp = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.smtp_timeout)
            try:
                if config.smtp_starttls:
                    # Raises SMTPNotSupportedError if the server offers no STARTTLS: no downgrade.
                    smtp.starttls(context=ssl.create_default_context(cafile=config.smtp_ca_file))
                if config.smtp_user:
                    smtp.login(config.smtp_user, config.smtp_password or "")
            except BaseException:
                with contextlib.suppress(OSError):
                    smtp.close()
                raise
            self._smtp = smtp
        return self._smtp

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._smtp = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def send_webhook(config: ChannelConfig, url: str, secret: str, payload: dict[str, Any]) -> None:
    """Raises ``DeliveryFailed`` saying "delivery failed" or the HTTP status class only."""
    post_signed(url, secret, payload, guard=config.outbound, timeout=config.webhook_timeout)


class SmsNotConfigured(LookupError):
    """No SMS gateway is configured: the delivery is retried, then fails visibly."""


def send_sms(config: ChannelConfig, to: str, body: str, message_id: str) -> None:
    """One text through the agency's SMS gateway webhook. The ``id`` (the delivery's) is the same
    on every retry, so a gateway can drop a repeat; the signature proves the message is ours."""
    if not config.sms_webhook_url or not config.sms_webhook_secret:
        raise SmsNotConfigured(
            "NOTIFICATIONS_SMS_WEBHOOK_URL and NOTIFICATIONS_SMS_WEBHOOK_SECRET are not both set"
        )
    post_signed(
        config.sms_webhook_url,
        config.sms_webhook_secret,
        {"to": to, "body": body, "id": message_id},
        guard=config.outbound,
        timeout=config.webhook_timeout,
        content_type="application/json",
    )
