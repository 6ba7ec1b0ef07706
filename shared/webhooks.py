"""Signed webhooks, the same for notifications and partner event delivery.

The signature is ``sha256=`` + hex HMAC-SHA256(secret, timestamp + "." + body), sent with
``X-Casehub-Timestamp`` (Unix seconds). A receiver recomputes it over the raw body and rejects
old timestamps, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

SIGNATURE_HEADER = "X-Casehub-Signature"
TIMESTAMP_HEADER = "X-Casehub-Timestamp"
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


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
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def post_signed(url: str, secret: str, payload: Mapping[str, Any], *, timeout: float = 5.0) -> None:
    """POST a CloudEvent (structured JSON); raises OSError unless the receiver answers 2xx."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/cloudevents+json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if not 200 <= response.status < 300:
                raise OSError(f"webhook answered {response.status}")
    except urllib.error.HTTPError as error:
        raise OSError(f"webhook answered {error.code}") from None
