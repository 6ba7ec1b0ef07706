"""The examples in docs/partners.md work against what Casehub really sends and answers."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from shared.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    new_secret,
    sign,
    signature_headers,
)
from tests.referrals.conftest import HOUSING, ReferralsApi

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "partners.md"
PARTNER = ("h-1", "partner", HOUSING)


def test_the_guides_verification_snippet_accepts_real_signatures_and_refuses_replays() -> None:
    [snippet] = [
        block
        for block in re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
        if "def casehub_signature_ok" in block
    ]
    namespace: dict[str, object] = {}
    exec(snippet, namespace)
    verify = namespace["casehub_signature_ok"]
    body = b'{"specversion":"1.0","type":"casehub.referrals.referral.sent.v1"}'
    now = str(int(time.time()))
    headers = {TIMESTAMP_HEADER: now, SIGNATURE_HEADER: sign("partner-secret", now, body)}
    assert verify("partner-secret", headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], body)  # type: ignore[operator]
    assert not verify("wrong-secret", now, headers[SIGNATURE_HEADER], body)  # type: ignore[operator]
    rotating = f"{sign('new-secret', now, body)} {headers[SIGNATURE_HEADER]}"
    assert verify("partner-secret", now, rotating, body)  # type: ignore[operator]
    old = str(int(time.time()) - 3600)
    assert not verify("partner-secret", old, sign("partner-secret", old, body), body)  # type: ignore[operator]


def test_the_guides_standard_webhooks_snippet_verifies_what_casehub_sends() -> None:
    [snippet] = [
        block
        for block in re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
        if "def casehub_event" in block
    ]
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)
    body = b'{"id":"e-1","specversion":"1.0","type":"casehub.referrals.referral.sent.v1"}'
    for secret in (new_secret(), "a-secret-chosen-before-whsec"):
        headers = signature_headers([secret], "e-1", int(time.time()), body)
        assert namespace["casehub_event"](secret, headers, body)["id"] == "e-1"
    with pytest.raises(WebhookVerificationError):
        namespace["casehub_event"](new_secret(), headers, body)


def test_the_guides_paging_example_is_what_the_partner_api_answers(
    referrals: ReferralsApi,
) -> None:
    """The guide's two requests, run as written (with the cursor the first really returned): a
    page of ``{items, next_cursor}``, then the last page with ``next_cursor`` null."""
    [example] = [
        block
        for block in re.findall(r"```\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
        if "GET /partner/referrals" in block
    ]
    first, then = re.findall(r"^GET (\S+)$", example, flags=re.MULTILINE)
    sent = {referrals.referral(referrals.client()) for _ in range(3)}
    page = referrals.call("GET", first, as_=PARTNER).json
    assert set(page) == {"items", "next_cursor"} and len(page["items"]) == 2
    documented_cursor = re.search(r"cursor=(\S+)", then)
    assert documented_cursor
    last = referrals.call(
        "GET", then.replace(documented_cursor[1], page["next_cursor"]), as_=PARTNER
    ).json
    assert last["next_cursor"] is None
    assert {r["id"] for r in page["items"] + last["items"]} == sent
