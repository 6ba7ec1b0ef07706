"""Signed webhooks, the same for notifications and partner event delivery.

Two signatures travel on every request, so receivers can verify with a ready library:

- Standard Webhooks (https://www.standardwebhooks.com, the ``standardwebhooks`` package):
  ``webhook-id`` (the event id, the same on every retry), ``webhook-timestamp`` (Unix seconds)
  and ``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``. A ``whsec_`` secret
  is base64 of the key; a secret chosen before these existed is used as its UTF-8 bytes.
- Casehub's own, kept for one release: ``X-Casehub-Signature: sha256=`` + hex
  HMAC-SHA256(secret, timestamp + "." + body), with ``X-Casehub-Timestamp``.

While a secret is being rotated both secrets sign: each header then carries two signatures,
separated by a space, and a receiver accepts the request when any one matches. A receiver
recomputes over the raw body and rejects old timestamps, so a captured request cannot be
replayed later.

Sending goes only where ``shared.outbound`` allows, to the very address it checked (the Host
header and the TLS server name stay the URL's host), follows no redirect and uses no proxy. What
went wrong is told to the receiver's owner as "delivery failed" or the HTTP status class only: a
log that said "connection refused" here and "timed out" there would map networks for them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import secrets
import socket
import ssl
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from standardwebhooks import Webhook

from shared.logging import get_logger
from shared.outbound import Destination, OutboundGuard, OutboundRefused

SIGNATURE_HEADER = "X-Casehub-Signature"
TIMESTAMP_HEADER = "X-Casehub-Timestamp"
STANDARD_ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300
DELIVERY_FAILED = "delivery failed"

log = get_logger(__name__)


class DeliveryFailed(OSError):
    """A webhook not delivered. ``str()`` is what the receiver's owner may read: "delivery
    failed", or with the class of the HTTP status their endpoint answered ("HTTP 5xx")."""

    def __init__(self, status: int | None = None) -> None:
        self.status = status
        super().__init__(
            f"{DELIVERY_FAILED}: HTTP {status // 100}xx" if status is not None else DELIVERY_FAILED
        )


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def is_standard_secret(secret: str) -> bool:
    """``whsec_`` + base64 of 24 to 64 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        return False
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except ValueError:
        return False
    return 24 <= len(key) <= 64


def standard_key(secret: str) -> bytes:
    """The HMAC key of a secret for Standard Webhooks (see the module's docstring)."""
    if is_standard_secret(secret):
        return base64.b64decode(secret[len(SECRET_PREFIX) :])
    return secret.encode()


def signature_headers(
    signing_secrets: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Both schemes' headers, each with one signature per secret (two while rotating)."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    text = body.decode()
    return {
        STANDARD_ID_HEADER: message_id,
        STANDARD_TIMESTAMP_HEADER: str(timestamp),
        STANDARD_SIGNATURE_HEADER: " ".join(
            Webhook(standard_key(secret)).sign(message_id, moment, text)
            for secret in signing_secrets
        ),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: " ".join(
            sign(secret, str(timestamp), body) for secret in signing_secrets
        ),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver runs: the signature matches and the timestamp is recent."""
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    signature = headers.get(SIGNATURE_HEADER, "")
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, offered) for offered in signature.split(" "))


@cache
def _system_tls() -> ssl.SSLContext:
    """The system's trust store, loaded once per process rather than for every delivery."""
    return ssl.create_default_context()


def _connection(
    destination: Destination, address: str, timeout: float, tls: ssl.SSLContext | None
) -> http.client.HTTPConnection:
    """A connection to ``address`` that speaks to the URL's host: Host header, TLS server name
    and certificate check are the host's, the socket goes to the address that was checked."""
    connection: http.client.HTTPConnection
    if destination.scheme == "https":
        connection = http.client.HTTPSConnection(
            destination.host,
            destination.port,
            timeout=timeout,
            context=tls or _system_tls(),
        )
    else:
        connection = http.client.HTTPConnection(destination.host, destination.port, timeout=timeout)

    def to_checked_address(
        _where: tuple[str, int], timeout: float | None = None, source: Any = None
    ) -> socket.socket:
        return socket.create_connection((address, destination.port), timeout, source)

    connection._create_connection = to_checked_address  # type: ignore[attr-defined]
    return connection


def post_signed(
    url: str,
    secret: str | Sequence[str],
    payload: Mapping[str, Any],
    *,
    guard: OutboundGuard,
    timeout: float = 5.0,
    tls: ssl.SSLContext | None = None,
    content_type: str = "application/cloudevents+json",
) -> None:
    """POST a CloudEvent (structured JSON; other JSON with its ``content_type``) to a URL the
    guard allows, checked again now; raises DeliveryFailed unless the receiver answers 2xx.
    ``secret`` may be several (a rotation's new and old secret): each signs. ``tls`` replaces
    the system's trust store."""
    try:
        destination = guard.check(url)
    except OutboundRefused as refused:
        log.warning("webhook.destination_refused", reason=str(refused))
        raise DeliveryFailed() from None
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()
    signing = [secret] if isinstance(secret, str) else list(secret)
    message_id = str(payload.get("id") or uuid.uuid4())
    headers = {
        "Content-Type": content_type,
        **signature_headers(signing, message_id, int(time.time()), body),
    }
    for address in destination.addresses:
        connection = _connection(destination, address, timeout, tls)
        try:
            try:
                connection.connect()
            except OSError as error:  # nothing sent yet: the next checked address may answer
                log.info(
                    "webhook.connect_failed", host=destination.host, error=type(error).__name__
                )
                continue
            try:
                connection.request("POST", destination.target, body=body, headers=headers)
                status = connection.getresponse().status
            except (OSError, http.client.HTTPException) as error:
                log.warning(
                    "webhook.send_failed", host=destination.host, error=type(error).__name__
                )
                raise DeliveryFailed() from None
        finally:
            connection.close()
        if not 200 <= status < 300:
            raise DeliveryFailed(status)
        return
    raise DeliveryFailed()
