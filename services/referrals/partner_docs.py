"""The partner guide's reference of event data, generated from the contracts (shared/contracts) so
docs/partners.md never drifts from what partners receive: ``python -m
services.referrals.partner_docs`` rewrites the part between the markers, a test keeps it in sync."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from marshmallow import fields

from services.referrals.operations.publishing import NOT_FOR_PARTNERS, PARTNER_EVENT_TYPES
from shared.contracts import REGISTRY

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "partners.md"
BEGIN = "<!-- event data: generated from shared/contracts by services/referrals/partner_docs.py -->"
END = "<!-- end of event data -->"
#: Set on every event a partner receives (the referral was sent, so it is addressed to someone).
ALWAYS_FOR_PARTNERS = frozenset({"organization_id"})
_KINDS: tuple[tuple[type[fields.Field], str], ...] = (
    (fields.AwareDateTime, "RFC 3339 date-time"),
    (fields.DateTime, "RFC 3339 date-time"),
    (fields.Date, "date (YYYY-MM-DD)"),
    (fields.Integer, "integer"),
    (fields.Boolean, "boolean"),
    (fields.List, "array"),
    (fields.Dict, "object"),
    (fields.String, "string"),
)


def _kind(field: fields.Field) -> str:
    return next((name for kind, name in _KINDS if isinstance(field, kind)), "value")


def event_data_reference() -> str:
    """One section per event type partners receive: its meaning and every field of ``data``."""
    parts = [BEGIN]
    for event_type in PARTNER_EVENT_TYPES:
        contract = REGISTRY.get(event_type)
        parts += [
            "",
            f"#### `{event_type}`",
            "",
            contract.description,
            "",
            "| field | type | always set | meaning |",
            "|---|---|---|---|",
        ]
        for name, field in contract.schema().fields.items():
            if name in NOT_FOR_PARTNERS:
                continue
            meaning = str(field.metadata.get("description", "")).replace("|", "\\|")
            always = (
                "yes"
                if name in ALWAYS_FOR_PARTNERS or (field.required and not field.allow_none)
                else "no (may be null)"
            )
            parts.append(f"| `{name}` | {_kind(field)} | {always} | {meaning} |")
    parts += ["", END]
    return "\n".join(parts)


def documented(text: str) -> str | None:
    """The generated part of the guide as it stands, or None when the markers are missing."""
    found = re.search(re.escape(BEGIN) + r".*?" + re.escape(END), text, flags=re.DOTALL)
    return found[0] if found else None


def rewrite(guide: Path = GUIDE) -> None:
    text = guide.read_text()
    current = documented(text)
    if current is None:
        raise SystemExit(f"{guide} has no markers {BEGIN!r} … {END!r}")
    guide.write_text(text.replace(current, event_data_reference()))


if __name__ == "__main__":
    rewrite(Path(sys.argv[1]) if len(sys.argv) > 1 else GUIDE)
