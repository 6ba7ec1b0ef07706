"""Webhooks cannot be turned on Casehub's own network. A partner's subscription and a person's
webhook preference must be https:// on a host whose every address is a public internet address:
checked when registered (a 422 naming the field) and again before each delivery, against the
very address the sender then connects to, so a name that changes its answer between the two
(DNS rebinding) reaches nothing. What a failed delivery tells the partner carries no network
detail: "delivery failed", or the class of the HTTP status their endpoint answered.

The resolver is the guard's real parameter: a test hands in its own DNS answers (a hosts table,
an attacker's DNS that changes its answer), and the check, the connection and the HTTP exchange
all run for real on loopback sockets."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.notifications.channels import ChannelConfig
from services.notifications.operations import dispatch_due
from services.referrals import operations as referral_operations
from shared.config import Settings
from shared.db import utc_now
from shared.outbound import NOT_PUBLIC_NAME, OutboundGuard, OutboundRefused
from shared.webhooks import DELIVERY_FAILED, DeliveryFailed, post_signed, verify
from tests.notifications.conftest import NOW, NotificationsApi
from tests.referrals.conftest import HOUSING, ReferralsApi
from tests.support.backends import Backend
from tests.support.outbound import UNROUTED_PUBLIC_ADDRESS, Hosts, RebindingDns

PARTNER = ("h-1", "partner", HOUSING)
ADMIN = ("admin-1", "admin")
SECRET = "receiver-secret-0123456789"
#: Inward or non-https: each refused at registration, whoever registers it.
INWARD_URLS = (
    "https://127.0.0.1/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.1/hook",
    "https://[::1]/hook",
    "https://2130706433/hook",  # 127.0.0.1 as one number
    "https://0x7f000001/hook",
    "ftp://partner.example/hook",
    "http://partner.example/hook",
    "https://localhost/hook",
    "https://0.0.0.0/hook",
    "https://100.64.0.1/hook",  # carrier-grade NAT
    "https://172.16.0.1/hook",
    "https://192.168.1.1/hook",
    "https://[fe80::1]/hook",
    "https://[fd00::1]/hook",
    "https://224.0.0.251/hook",
    "https://240.0.0.1/hook",
    "https://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
    "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
    "https://user:password@partner.example/hook",
)
#: Where an attacker's DNS points at delivery time, each refused before any connection.
INSIDE_ADDRESSES = (
    "127.0.0.1",
    "169.254.169.254",
    "10.0.0.1",
    "::1",
    "::ffff:127.0.0.1",
    "100.64.0.1",
    "0.0.0.0",
    "fe80::1",
    "fd12:3456::1",
    "64:ff9b::a00:1",
)
#: Words that would tell a network's shape: none may reach a partner-visible delivery log.
NETWORK_DETAIL = (
    "refused",
    "reset",
    "timed out",
    "timeout",
    "errno",
    "ssl",
    "certificate",
    "resolve",
    "unreachable",
    "remote",
    "closed",
    "name",
    "127.0.0.1",
)


# -- endpoints on loopback -------------------------------------------------------------------
@contextmanager
def _inside_service() -> Iterator[tuple[int, socket.socket]]:
    """A service on Casehub's own network: a port that accepts connections. Whether anything
    connected is read from its backlog (the kernel completes a connection before accept)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    try:
        yield listener.getsockname()[1], listener
    finally:
        listener.close()


def _connections_made(listener: socket.socket) -> int:
    made = 0
    while True:
        try:
            connection, _ = listener.accept()
        except BlockingIOError:
            return made
        connection.close()
        made += 1


@contextmanager
def _receiver(
    status: int = 204, tls: ssl.SSLContext | None = None
) -> Iterator[tuple[int, list[tuple[dict[str, str], bytes]]]]:
    """A webhook receiver answering ``status``; records each request's headers and body."""
    received: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(
                (dict(self.headers), self.rfile.read(int(self.headers["Content-Length"])))
            )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port, received
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def _hangs_up() -> Iterator[int]:
    """An endpoint that accepts a connection and closes it without an HTTP answer."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        listener.close()


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def _certificate(name: str, folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "hook.pem", folder / "hook.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


# -- the services ------------------------------------------------------------------------------
@pytest.fixture
def referrals(backend: Backend, data_dir: Path) -> Iterator[ReferralsApi]:
    """Configured as in production: the development setting off, the system's resolver."""
    api = ReferralsApi.start("referrals", backend, data_dir / "referrals")
    api.runtime.outbound = OutboundGuard()
    api.directory()
    yield api
    api.runtime.database.dispose()


@pytest.fixture
def notifications(backend: Backend, data_dir: Path) -> Iterator[NotificationsApi]:
    api = NotificationsApi.start("notifications", backend, data_dir / "notifications")
    yield api
    api.runtime.database.dispose()


def _subscribe(api: ReferralsApi, url: str) -> Any:
    return api.call(
        "POST", "/partner/webhooks", as_=PARTNER, json_body={"url": url, "secret": SECRET}
    )


def _deliver(api: ReferralsApi, outbound: OutboundGuard) -> int:
    return referral_operations.deliver_webhooks(
        api.runtime.unit_of_work, utc_now, outbound=outbound
    )


def _log(api: ReferralsApi, subscription_id: str) -> list[dict[str, Any]]:
    response = api.call("GET", f"/partner/webhooks/{subscription_id}/deliveries", as_=PARTNER)
    assert response.status_code == 200, response.json
    return list(response.json["items"])


# -- registration -----------------------------------------------------------------------------
def test_inward_and_non_https_webhooks_are_refused_when_registered(
    referrals: ReferralsApi, notifications: NotificationsApi
) -> None:
    """Before: all of these were accepted (201/200) and the worker posted there."""
    for url in INWARD_URLS:
        refused = _subscribe(referrals, url)
        assert refused.status_code == 422, (url, refused.json)
        assert refused.content_type == "application/problem+json"
        assert refused.json["errors"]["json"]["url"], (url, refused.json)
        preference = notifications.call(
            "PUT",
            "/me/preferences",
            as_=("cm-1", "case_manager"),
            json_body={"channels": ["webhook"], "webhook_url": url, "webhook_secret": SECRET},
        )
        assert preference.status_code == 422, (url, preference.json)
        assert preference.json["errors"]["json"]["webhook_url"], (url, preference.json)
    assert referrals.call("GET", "/partner/webhooks", as_=PARTNER).json["items"] == []
    assert (
        notifications.call("GET", "/me/preferences", as_=("cm-1", "case_manager")).status_code
        == 404
    )
    problems = {
        url: _subscribe(referrals, url).json["errors"]["json"]["url"][0]
        for url in (
            "ftp://partner.example/hook",
            "https://169.254.169.254/x",
            "https://2130706433/x",
        )
    }
    assert problems["ftp://partner.example/hook"] == "must be an https:// URL"
    assert (
        "169.254.169.254 is a loopback, private, link-local"
        in problems["https://169.254.169.254/x"]
    )
    assert "2130706433 (127.0.0.1)" in problems["https://2130706433/x"]


def test_a_public_https_endpoint_is_accepted(referrals: ReferralsApi) -> None:
    referrals.runtime.outbound = OutboundGuard(
        resolve=Hosts({"hooks.partner.test": [UNROUTED_PUBLIC_ADDRESS, "8.8.8.8"]})
    )
    assert _subscribe(referrals, "https://hooks.partner.test/casehub").status_code == 201
    assert _subscribe(referrals, "https://8.8.8.8:8443/casehub?via=casehub").status_code == 201


@pytest.mark.parametrize(
    "answers",
    [["10.0.0.1"], ["8.8.8.8", "10.0.0.1"], ["169.254.169.254"], ["::1"], [], ["not-an-address"]],
)
def test_a_name_is_judged_by_every_address_it_resolves_to(answers: list[str]) -> None:
    """One inward address among public ones is enough to refuse; a name that does not resolve
    gets the same answer, so the refusal does not tell which names exist inside."""
    guard = OutboundGuard(resolve=Hosts({"hooks.partner.test": answers}))
    with pytest.raises(OutboundRefused) as refused:
        guard.check("https://hooks.partner.test/casehub")
    assert str(refused.value) == NOT_PUBLIC_NAME
    with pytest.raises(OutboundRefused) as unknown:
        guard.check("https://nowhere.partner.test/casehub")
    assert str(unknown.value) == str(refused.value)


# -- delivery ---------------------------------------------------------------------------------
@pytest.mark.parametrize("inside", INSIDE_ADDRESSES)
def test_a_name_that_turns_inward_after_registration_is_refused_at_delivery(inside: str) -> None:
    dns = RebindingDns(public=[UNROUTED_PUBLIC_ADDRESS], inside=[inside])
    guard = OutboundGuard(resolve=dns)
    assert guard.check("https://hooks.partner.test/casehub").addresses == (UNROUTED_PUBLIC_ADDRESS,)
    with pytest.raises(DeliveryFailed) as failed:
        post_signed("https://hooks.partner.test/casehub", SECRET, {"id": "e-1"}, guard=guard)
    assert str(failed.value) == DELIVERY_FAILED and dns.answers == 2


def test_dns_rebinding_reaches_nothing_and_the_partner_reads_delivery_failed(
    referrals: ReferralsApi,
) -> None:
    """The name resolves to a public address when the partner subscribes and to 127.0.0.1 when
    the worker delivers: refused before any connection, logged as "delivery failed"."""
    with _inside_service() as (port, inside):
        dns = RebindingDns(public=[UNROUTED_PUBLIC_ADDRESS], inside=["127.0.0.1"])
        referrals.runtime.outbound = OutboundGuard(resolve=dns)
        subscribed = _subscribe(referrals, f"https://hooks.partner.test:{port}/casehub")
        assert subscribed.status_code == 201, subscribed.json
        referrals.referral(referrals.client())
        assert _deliver(referrals, referrals.runtime.outbound) == 2  # status_changed, sent
        assert _connections_made(inside) == 0
    log = _log(referrals, subscribed.json["id"])
    assert [(d["status"], d["attempts"], d["last_error"]) for d in log] == [
        ("pending", 1, DELIVERY_FAILED)
    ] * 2


def test_webhooks_stored_before_the_guard_are_refused_at_each_delivery(
    referrals: ReferralsApi,
) -> None:
    """Subscriptions to inward addresses (here registered under the development setting, as
    they were before) are never posted to once the setting is off."""
    with _inside_service() as (port, inside):
        referrals.runtime.outbound = OutboundGuard(allow_private=True)
        urls = [
            f"http://127.0.0.1:{port}/hook",
            f"https://127.0.0.1:{port}/hook",
            f"http://2130706433:{port}/hook",
            f"http://localhost:{port}/hook",
            "https://169.254.169.254/latest/meta-data/",
            "https://10.0.0.1/hook",
        ]
        ids = []
        for url in urls:
            subscribed = _subscribe(referrals, url)
            assert subscribed.status_code == 201, (url, subscribed.json)
            ids.append(subscribed.json["id"])
        referrals.referral(referrals.client())
        assert _deliver(referrals, OutboundGuard()) == 2 * len(urls)
        assert _connections_made(inside) == 0
    for subscription_id in ids:
        assert {d["last_error"] for d in _log(referrals, subscription_id)} == {DELIVERY_FAILED}


def test_the_partners_delivery_log_tells_no_network_detail(
    referrals: ReferralsApi, tmp_path: Path
) -> None:
    """Before: "connection refused", "405" and "delivered" told a port scanner what listens
    where. Now every failure without an HTTP answer reads the same; an answer gives its class."""
    names = Hosts({"gone.partner.test": ["127.0.0.1"]})
    referrals.runtime.outbound = OutboundGuard(allow_private=True, resolve=names)
    with (
        _receiver(405) as (answers_405, _),
        _receiver(204) as (plain_http, _),
        _hangs_up() as hangs,
    ):
        endpoints = {
            "connection refused": f"http://127.0.0.1:{_closed_port()}/hook",
            "hangs up": f"http://127.0.0.1:{hangs}/hook",
            "name gone": f"http://gone.partner.test:{plain_http}/hook",
            "no TLS there": f"https://127.0.0.1:{plain_http}/hook",
            "answers 405": f"http://127.0.0.1:{answers_405}/hook",
        }
        ids = {}
        for what, url in endpoints.items():
            subscribed = _subscribe(referrals, url)
            assert subscribed.status_code == 201, (what, subscribed.json)
            ids[what] = subscribed.json["id"]
        referrals.referral(referrals.client())
        _deliver(referrals, OutboundGuard(allow_private=True, resolve=Hosts({})))
    errors = {what: {d["last_error"] for d in _log(referrals, ids[what])} for what in ids}
    assert errors == {
        "connection refused": {DELIVERY_FAILED},
        "hangs up": {DELIVERY_FAILED},
        "name gone": {DELIVERY_FAILED},
        "no TLS there": {DELIVERY_FAILED},
        "answers 405": {f"{DELIVERY_FAILED}: HTTP 4xx"},
    }
    told = [d["last_error"] for i in ids.values() for d in _log(referrals, i)] + [
        s["disabled_reason"]
        for s in referrals.call("GET", "/partner/webhooks", as_=PARTNER).json["items"]
    ]
    said = json.dumps(told).lower()
    assert [word for word in NETWORK_DETAIL if word in said] == []


def test_a_persons_webhook_that_turns_inward_is_refused_at_delivery(
    notifications: NotificationsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFICATIONS_SMTP_PORT", str(_closed_port()))  # on-call's email waits
    with _inside_service() as (port, inside):
        dns = RebindingDns(public=[UNROUTED_PUBLIC_ADDRESS], inside=["127.0.0.1"])
        notifications.runtime.outbound = OutboundGuard(resolve=dns)
        saved = notifications.call(
            "PUT",
            "/users/cm-1/preferences",
            as_=ADMIN,
            json_body={
                "channels": ["webhook"],
                "email": None,
                "webhook_url": f"https://hooks.agency.test:{port}/me",
                "webhook_secret": SECRET,
            },
        )
        assert saved.status_code == 200, saved.json
        notifications.risk_flagged("high", case_manager="cm-1", supervisor=None)
        with notifications.runtime.units_of_work_on_one_connection() as unit_of_work:
            dispatch_due(
                unit_of_work, ChannelConfig.from_env(notifications.runtime.outbound), lambda: NOW
            )
        assert _connections_made(inside) == 0
    page = notifications.call("GET", "/deliveries", query={"status": "pending"}).json
    [webhook] = [d for d in page["items"] if d["channel"] == "webhook"]
    assert [a["error"] for a in webhook["attempt_log"]] == [f"DeliveryFailed: {DELIVERY_FAILED}"]


# -- the connection goes where the check said -------------------------------------------------
def test_the_sender_connects_to_the_checked_address_with_the_urls_host() -> None:
    """The name resolves once: a second lookup would have led to 127.0.0.2, where nothing
    listens. The receiver sees the URL's host in the Host header."""
    dns = RebindingDns(public=["127.0.0.1"], inside=["127.0.0.2"])
    with _receiver() as (port, received):
        post_signed(
            f"http://hooks.partner.test:{port}/casehub?v=1",
            SECRET,
            {"id": "e-1"},
            guard=OutboundGuard(allow_private=True, resolve=dns),
        )
    [(headers, body)] = received
    assert dns.answers == 1
    assert headers["Host"] == f"hooks.partner.test:{port}"
    assert verify(SECRET, headers, body)


def test_tls_goes_to_the_checked_address_under_the_urls_name(tmp_path: Path) -> None:
    """Server name (SNI) and certificate check are the URL's host, the socket the checked
    address; a certificate for another name is refused."""
    cert, key = _certificate("hooks.partner.test", tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    names: list[str | None] = []
    server_tls.sni_callback = lambda _socket, name, _context: names.append(name)
    client_tls = ssl.create_default_context(cafile=str(cert))
    dns = Hosts({"hooks.partner.test": ["127.0.0.1"], "other.partner.test": ["127.0.0.1"]})
    guard = OutboundGuard(allow_private=True, resolve=dns)
    with _receiver(tls=server_tls) as (port, received):
        post_signed(
            f"https://hooks.partner.test:{port}/casehub",
            SECRET,
            {"id": "e-1"},
            guard=guard,
            tls=client_tls,
        )
        with pytest.raises(DeliveryFailed) as failed:
            post_signed(
                f"https://other.partner.test:{port}/casehub",
                SECRET,
                {"id": "e-2"},
                guard=guard,
                tls=client_tls,
            )
    assert str(failed.value) == DELIVERY_FAILED
    assert names[0] == "hooks.partner.test"
    [(headers, _)] = received
    assert headers["Host"] == f"hooks.partner.test:{port}"


# -- the development setting ----------------------------------------------------------------
def test_the_development_setting_is_off_unless_set(data_dir: Path) -> None:
    base = {"CASEHUB_DATA_DIR": str(data_dir)}
    assert Settings.from_env("referrals", base).allow_private_webhooks is False
    on = Settings.from_env("referrals", {**base, "CASEHUB_ALLOW_PRIVATE_WEBHOOKS": "1"})
    assert on.allow_private_webhooks is True
    assert OutboundGuard.for_settings(on).check("http://127.0.0.1:9/hook").addresses == (
        "127.0.0.1",
    )
    with pytest.raises(OutboundRefused):
        OutboundGuard.for_settings(replace(on, allow_private_webhooks=False)).check(
            "http://127.0.0.1:9/"
        )
    with pytest.raises(ValueError, match="CASEHUB_ALLOW_PRIVATE_WEBHOOKS"):
        Settings.from_env("referrals", {**base, "CASEHUB_ALLOW_PRIVATE_WEBHOOKS": "sometimes"})
