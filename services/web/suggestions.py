"""A plan's suggested changes as the case manager reads them: where each came from, and the
refusal to approve a review while any is undecided, naming them. No Flask here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.web.backend import ApiError
from services.web.screens import label


def still_to_decide(error: ApiError) -> str | None:
    """Approving a review with suggested changes open: planning's refusal, naming each one."""
    waiting = error.body.get("open_suggestions") if error.status == 409 else None
    if not waiting:
        return None
    names = ", ".join(label(str(row.get("domain"))) for row in waiting)
    return f"{error.detail} Still to decide: {names}."


def suggestion_rows(
    suggestions: Iterable[Mapping[str, Any]], assessments: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Each suggested change with the reassessment it came from (when, by whom, the need's note),
    so the case manager sees why it is there without opening anything else."""
    by_id = {assessment["id"]: assessment for assessment in assessments}
    rows = []
    for suggestion in suggestions:
        found = by_id.get(suggestion.get("assessment_id"), {})
        rated = (found.get("domains") or {}).get(suggestion["domain"]) or {}
        rows.append(
            {
                **suggestion,
                "assessed_at": found.get("completed_at"),
                "assessed_by": found.get("assessed_by"),
                "need_note": rated.get("notes"),
            }
        )
    return rows
