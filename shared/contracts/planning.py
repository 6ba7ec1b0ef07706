"""Events the planning service publishes (agreed here first, so consumers can be built)."""

from __future__ import annotations

from marshmallow import Schema, fields

from shared.contracts.registry import REGISTRY


@REGISTRY.register(
    "casehub.planning.review.due.v1", "A plan review fell due (emitted once per review)."
)
class ReviewDue(Schema):
    review_id = fields.String(required=True)
    plan_id = fields.String(required=True)
    client_id = fields.String(required=True)
    episode_id = fields.String(required=True)
    due_on = fields.Date(required=True)
    case_manager_id = fields.String(load_default=None, allow_none=True)
