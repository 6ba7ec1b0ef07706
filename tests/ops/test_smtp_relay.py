"""Email through a hosted relay: STARTTLS with the relay's certificate verified, then AUTH, against
a loopback SMTP server that demands both (its certificate made here, signed by nobody known)."""

from __future__ import annotations

import datetime
import ipaddress
import smtplib
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.notifications.channels import ChannelConfig, Mailer, SmtpSettingsError
from tests.support.mail import Mailbox
from tests.support.ports import free_port

USER, PASSWORD = "casehub-relay", "relay-password-1"


def _self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "relay.crt", folder / "relay.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class Relay:
    """What a hosted relay (SES, Mailgun, an agency's Exchange) asks: TLS first, then a login."""

    def __init__(self, folder: Path) -> None:
        self.cert_file, key_file = _self_signed_certificate(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, key_file)
        self.mailbox = Mailbox()
        self.logins: list[tuple[str, bool]] = []
        self.port = free_port()
        self.controller = Controller(
            self.mailbox,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=self._authenticate,
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        user = auth_data.login.decode()
        self.logins.append((user, session.ssl is not None))
        ok = user == USER and auth_data.password.decode() == PASSWORD
        return AuthResult(success=ok, handled=False)

    def config(self, **overrides: Any) -> ChannelConfig:
        values: dict[str, Any] = {
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_starttls": True,
            "smtp_user": USER,
            "smtp_password": PASSWORD,
            "smtp_ca_file": str(self.cert_file),
            "smtp_timeout": 5.0,
        }
        return ChannelConfig(**{**values, **overrides})


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[Relay]:
    running = Relay(tmp_path)
    running.controller.start()
    yield running
    running.controller.stop()


def _send(config: ChannelConfig, to: str = "sup-1@agency.example") -> None:
    with Mailer(config) as mailer:
        mailer.send(
            to, "URGENT: crisis alert for client C-1001", "Open Casehub", message_id="<d1@casehub>"
        )


def test_crisis_email_goes_through_a_relay_demanding_starttls_and_auth(
    relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
        "NOTIFICATIONS_SMTP_PORT": str(relay.port),
        "NOTIFICATIONS_SMTP_TLS": "starttls",
        "NOTIFICATIONS_SMTP_USER": USER,
        "NOTIFICATIONS_SMTP_PASSWORD": PASSWORD,
        "NOTIFICATIONS_SMTP_CA_FILE": str(relay.cert_file),
    }.items():
        monkeypatch.setenv(name, value)
    config = ChannelConfig.from_env()
    assert PASSWORD not in repr(config)  # a logged config never shows it
    with Mailer(config) as mailer:
        for number in range(2):  # one connection, one login, kept between messages
            mailer.send(
                "sup-1@agency.example",
                f"URGENT: crisis alert for client C-100{number}",
                "Open Casehub",
                message_id=f"<d{number}@casehub>",
            )
    assert [m["Subject"] for m in relay.mailbox.to("sup-1@agency.example")] == [
        "URGENT: crisis alert for client C-1000",
        "URGENT: crisis alert for client C-1001",
    ]
    assert relay.logins == [(USER, True)]  # logged in once, inside TLS


def test_a_wrong_password_is_an_authentication_failure_the_dispatcher_retries(
    relay: Relay,
) -> None:
    with pytest.raises(smtplib.SMTPAuthenticationError):
        _send(relay.config(smtp_password="wrong"))
    assert relay.mailbox.messages == []


def test_the_relays_certificate_is_verified(relay: Relay) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        _send(relay.config(smtp_ca_file=None))  # signed by no CA this machine trusts
    assert relay.logins == [] and relay.mailbox.messages == []


def test_credentials_are_never_sent_without_tls(relay: Relay) -> None:
    with pytest.raises(SmtpSettingsError, match="in clear"):
        _send(relay.config(smtp_starttls=False))
    assert relay.logins == []
    with pytest.raises(smtplib.SMTPException):  # and the relay refuses mail in clear anyway
        _send(relay.config(smtp_starttls=False, smtp_user=None))
    assert relay.mailbox.messages == []


def test_tls_setting_is_spelled_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFICATIONS_SMTP_TLS", "ssl-please")
    with pytest.raises(SmtpSettingsError, match="starttls or none"):
        ChannelConfig.from_env()
