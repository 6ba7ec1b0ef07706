"""The verification snippet in docs/partners.md works against what Casehub really sends."""

from __future__ import annotations

import re
import time
from pathlib import Path

from shared.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "partners.md"


def test_the_guides_verification_snippet_accepts_real_signatures_and_refuses_replays() -> None:
    [snippet] = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
    namespace: dict[str, object] = {}
    exec(snippet, namespace)
    verify = namespace["casehub_signature_ok"]
    body = b'{"specversion":"1.0","type":"casehub.referrals.referral.sent.v1"}'
    now = str(int(time.time()))
    headers = {TIMESTAMP_HEADER: now, SIGNATURE_HEADER: sign("partner-secret", now, body)}
    assert verify("partner-secret", headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], body)  # type: ignore[operator]
    assert not verify("wrong-secret", now, headers[SIGNATURE_HEADER], body)  # type: ignore[operator]
    old = str(int(time.time()) - 3600)
    assert not verify("partner-secret", old, sign("partner-secret", old, body), body)  # type: ignore[operator]
