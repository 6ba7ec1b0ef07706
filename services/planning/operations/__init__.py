"""The planning service layer, one module per use case (no Flask): ``access`` (who sees which
plan), ``reading``, ``writing`` (goals, strategies, safety plan), ``lifecycle`` (approval, review,
close, progress) and ``from_events`` (what intake's and referrals' events change); casework in
``contacts``, ``appointments``, ``calendar``, ``tasks`` and ``task_sources`` (imported as modules)."""

from services.planning.operations.access import (
    PENDING_REVIEW,
    editable_plan,
    load_plan,
    next_review,
    plan_version,
    visible_plans,
    working_version,
)
from services.planning.operations.client_casework import ClientCasework, read_client_casework
from services.planning.operations.crisis import (
    close_crisis,
    complete_follow_up,
    follow_ups_of,
    list_crises,
    open_from_high_risk,
    report_hospital_discharge,
    worklist,
)
from services.planning.operations.crisis import record_action as record_crisis_action
from services.planning.operations.emergency import crisis_picture, record_emergency_grant
from services.planning.operations.from_events import (
    close_on_discharge,
    draft_from_assessment,
    record_assignment,
    record_referral_status,
    record_team_change,
    respond_to_high_risk,
)
from services.planning.operations.lifecycle import (
    add_progress_note,
    announce_due_reviews,
    approve,
    close,
    start_review,
)
from services.planning.operations.plan_details import PlanDetails, plan_details
from services.planning.operations.reading import (
    compare,
    list_plans,
    list_progress_notes,
    list_versions,
    overdue_reviews,
    read_plan,
    read_version,
)
from services.planning.operations.suggestions import (
    dismiss,
    open_suggestions,
    take_up,
)
from services.planning.operations.task_sources import (
    announce_expiring_consents,
    record_consent,
    task_for_reassessment,
    task_for_referral,
)
from services.planning.operations.writing import (
    add_goal,
    add_strategy,
    remove_goal,
    remove_strategy,
    set_safety_plan,
    update_goal,
)
from services.planning.settings import ReviewPolicy

__all__ = [
    "PENDING_REVIEW",
    "ClientCasework",
    "PlanDetails",
    "ReviewPolicy",
    "add_goal",
    "add_progress_note",
    "add_strategy",
    "announce_due_reviews",
    "announce_expiring_consents",
    "approve",
    "close",
    "close_crisis",
    "close_on_discharge",
    "compare",
    "complete_follow_up",
    "crisis_picture",
    "dismiss",
    "draft_from_assessment",
    "editable_plan",
    "follow_ups_of",
    "list_crises",
    "list_plans",
    "list_progress_notes",
    "list_versions",
    "load_plan",
    "next_review",
    "open_from_high_risk",
    "open_suggestions",
    "overdue_reviews",
    "plan_details",
    "plan_version",
    "read_client_casework",
    "read_plan",
    "read_version",
    "record_assignment",
    "record_consent",
    "record_crisis_action",
    "record_emergency_grant",
    "record_referral_status",
    "record_team_change",
    "remove_goal",
    "remove_strategy",
    "report_hospital_discharge",
    "respond_to_high_risk",
    "set_safety_plan",
    "start_review",
    "take_up",
    "task_for_reassessment",
    "task_for_referral",
    "update_goal",
    "visible_plans",
    "working_version",
    "worklist",
]
