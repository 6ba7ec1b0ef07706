"""HTTP in and out for planning: each view turns a request into one operation in a unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.planning import domain, operations
from services.planning.api.casework import CASEWORK_BLUEPRINTS, appointment_out, contact_out
from services.planning.casework_schemas import ClientCaseworkOut
from services.planning.models import AUDIT, Base, Plan, PlanVersion, Review
from services.planning.operations import contacts as casework_contacts
from services.planning.schemas import (
    AgreementIn,
    CloseIn,
    CompareArgs,
    ComparisonOut,
    CrisisActionIn,
    CrisisCloseIn,
    CrisisEpisodeOut,
    CrisisEpisodePage,
    CrisisPictureOut,
    DismissIn,
    FollowUpArgs,
    FollowUpOut,
    FollowUpPage,
    GoalIn,
    GoalPatch,
    HospitalDischargeIn,
    OverdueReviewPage,
    PlanArgs,
    PlanOut,
    PlanPage,
    ProgressNoteIn,
    ProgressNoteOut,
    ProgressNotePage,
    SafetyPlanIn,
    StrategyIn,
    VersionOut,
    VersionPage,
)
from shared import emergency_access
from shared.web import current_principal, require_roles
from shared.web.audit import audit_blueprint
from shared.web.paging import FirstPagesArgs, PageArgs, page_body
from shared.web.privacy import privacy_blueprint
from shared.web.query import Blueprint
from shared.web.request_context import required_purpose
from shared.web.service_app import current_runtime

READERS = ("case_manager", "supervisor", "admin")
EDITORS = ("case_manager", "supervisor")

plans = Blueprint("plans", __name__, url_prefix="/plans", description="Individual service plans")
goals = Blueprint(
    "goals", __name__, url_prefix="/plans", description="Goals, strategies, safety plan, progress"
)
reviews = Blueprint("reviews", __name__, url_prefix="/reviews", description="Plan reviews")
crisis = Blueprint(
    "crisis",
    __name__,
    url_prefix="/clients",
    description="Crisis: emergency access to the safety plan, crisis episodes, follow-up",
)
crises = Blueprint(
    "crises",
    __name__,
    url_prefix="/crisis-episodes",
    description="What was done in a crisis, its outcome and close",
)
follow_ups = Blueprint(
    "follow_ups",
    __name__,
    url_prefix="/follow-ups",
    description="Follow-up contacts after a crisis or a hospital discharge (the worklist)",
)
client_casework = Blueprint(
    "client_casework",
    __name__,
    url_prefix="/clients",
    description="A client's casework in one request, as the client record screen shows it",
)
BLUEPRINTS = [
    plans,
    client_casework,
    goals,
    reviews,
    crisis,
    crises,
    follow_ups,
    *CASEWORK_BLUEPRINTS,
    audit_blueprint(AUDIT),
    privacy_blueprint("planning", Base.metadata, AUDIT),
]

GOAL_EXAMPLE = {
    "domain": "housing",
    "in_own_words": "I want my own place where I feel safe",
    "measurable_target": "Signed tenancy agreement",
    "target_date": "2027-03-31",
}
NOT_EDITABLE = (
    "The plan is not editable in its status (only draft and under review plans change), "
    "or the move is not allowed from it (the allowed ones are named)."
)
AGREEMENT_EXAMPLE = {
    "client_agreed": True,
    "method": "signed",
    "present": ["client", "case manager", "sister"],
}


def _uow() -> Any:
    return current_runtime().unit_of_work()


def _plan_out(plan: Plan, version: PlanVersion, review: Review | None) -> dict[str, Any]:
    fields = (
        "id",
        "client_id",
        "client_reference",
        "episode_id",
        "status",
        "owner_id",
        "supervisor_id",
        "safety_plan_required",
        "latest_assessment_id",
        "current_version",
        "approved_version",
        "created_at",
        "approved_at",
        "closed_at",
        "close_reason",
    )
    return {
        **{field: getattr(plan, field) for field in fields},
        "allowed_transitions": domain.allowed_transitions(plan.status),
        "next_review_due": review.due_on if review else None,
        "working_version": version,
    }


def _respond(uow: Any, plan: Plan) -> dict[str, Any]:
    return _plans_out(uow, [plan])[0]


def _plans_out(uow: Any, plans: Sequence[Plan]) -> list[dict[str, Any]]:
    """Plans as the API shows them: what each shows beside the plan is read for all of them
    at once (four statements), not four queries a plan."""
    details = operations.plan_details(uow, plans)
    return [
        {
            **_plan_out(plan, details[plan.id].version, details[plan.id].next_review),
            "strategy_referrals": details[plan.id].strategy_referrals,
            "suggested_changes": details[plan.id].suggested_changes,
        }
        for plan in plans
    ]


@plans.route("", methods=["GET"])
@require_roles(*READERS)
@plans.arguments(PlanArgs, location="query")
@plans.response(200, PlanPage)
def list_plans(args: dict[str, Any]) -> Any:
    """Plans you carry (case manager), your team's (supervisor) or all (admin), oldest first."""
    with _uow() as uow:
        page = operations.list_plans(
            uow,
            current_principal(),
            client_id=args.get("client_id"),
            status=args.get("status"),
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return page_body(page, _plans_out(uow, page.items))


@client_casework.route("/<client_id>/casework", methods=["GET"])
@require_roles(*READERS)
@client_casework.arguments(FirstPagesArgs, location="query")
@client_casework.response(200, ClientCaseworkOut)
def read_client_casework(args: dict[str, Any], client_id: str) -> Any:
    """The client's plans, contacts and appointments (the first ``limit`` of each), each read
    and audited as its own list is; 404 when you see neither a plan nor an episode of theirs."""
    with _uow() as uow:
        found = operations.read_client_casework(
            uow, current_principal(), client_id, limit=args["limit"]
        )
        contacts, appointments = found.contacts, found.appointments
        addenda = casework_contacts.addenda_of(uow, contacts.items if contacts else [])
        return {
            "plans": page_body(found.plans, _plans_out(uow, found.plans.items)),
            "contacts": None
            if contacts is None
            else page_body(contacts, [contact_out(uow, c, addenda) for c in contacts.items]),
            "appointments": None
            if appointments is None
            else page_body(appointments, map(appointment_out, appointments.items)),
        }


@plans.route("/<plan_id>", methods=["GET"])
@require_roles(*READERS)
@plans.response(200, PlanOut)
def read_plan(plan_id: str) -> Any:
    """A plan with its working version (404 if it is not yours to see)."""
    with _uow() as uow:
        return _respond(uow, operations.read_plan(uow, current_principal(), plan_id))


@plans.route("/<plan_id>/versions", methods=["GET"])
@require_roles(*READERS)
@plans.arguments(PageArgs, location="query")
@plans.response(200, VersionPage)
def list_versions(args: dict[str, Any], plan_id: str) -> Any:
    """Every version of the plan, oldest first."""
    with _uow() as uow:
        return page_body(
            operations.list_versions(
                uow, current_principal(), plan_id, limit=args["limit"], cursor=args["cursor"]
            )
        )


@plans.route("/<plan_id>/versions/<int:number>", methods=["GET"])
@require_roles(*READERS)
@plans.response(200, VersionOut)
def read_version(plan_id: str, number: int) -> Any:
    """One version of the plan."""
    with _uow() as uow:
        return operations.read_version(uow, current_principal(), plan_id, number)


@plans.route("/<plan_id>/compare", methods=["GET"])
@require_roles(*READERS)
@plans.arguments(CompareArgs, location="query")
@plans.response(200, ComparisonOut)
def compare_versions(args: dict[str, Any], plan_id: str) -> Any:
    """What changed between two versions: goals and strategies added, removed or changed."""
    with _uow() as uow:
        return operations.compare(uow, current_principal(), plan_id, args["older"], args["newer"])


@plans.route("/<plan_id>/approve", methods=["POST"])
@require_roles(*EDITORS)
@plans.arguments(AgreementIn, example=AGREEMENT_EXAMPLE)
@plans.response(200, PlanOut)
@plans.alt_response(
    409,
    description="Not allowed from this status (allowed named), not ready (reasons), or a "
    "review with suggested changes still undecided (named).",
)
def approve(agreement: dict[str, Any], plan_id: str) -> Any:
    """Record the client's agreement and approve the working version; a review is scheduled."""
    with _uow() as uow:
        plan = operations.approve(
            uow,
            current_principal(),
            plan_id,
            agreement,
            current_runtime().service_settings,
            current_runtime().clock.now(),
        )
        return _respond(uow, plan)


@plans.route("/<plan_id>/start-review", methods=["POST"])
@require_roles(*EDITORS)
@plans.response(200, PlanOut)
@plans.alt_response(409, description=NOT_EDITABLE)
def start_review(plan_id: str) -> Any:
    """Open the plan for review: changes now go into a new version."""
    with _uow() as uow:
        return _respond(uow, operations.start_review(uow, current_principal(), plan_id))


@plans.route("/<plan_id>/suggested-changes/<suggestion_id>/take-up", methods=["POST"])
@require_roles(*EDITORS)
@plans.response(200, PlanOut)
@plans.alt_response(
    409, description="The plan is not under review (start it first), or the change is decided."
)
def take_up_suggestion(plan_id: str, suggestion_id: str) -> Any:
    """At the review: a suggested change becomes a draft goal in the new version."""
    with _uow() as uow:
        plan = operations.take_up(
            uow, current_principal(), plan_id, suggestion_id, current_runtime().clock.now()
        )
        return _respond(uow, plan)


@plans.route("/<plan_id>/suggested-changes/<suggestion_id>/dismiss", methods=["POST"])
@require_roles(*EDITORS)
@plans.arguments(DismissIn, example={"reason": "Housing is stable; the client declines support."})
@plans.response(200, PlanOut)
@plans.alt_response(
    409, description="The plan is not under review (start it first), or the change is decided."
)
def dismiss_suggestion(body: dict[str, Any], plan_id: str, suggestion_id: str) -> Any:
    """At the review: set a suggested change aside, with the reason on the record."""
    with _uow() as uow:
        plan = operations.dismiss(
            uow,
            current_principal(),
            plan_id,
            suggestion_id,
            body["reason"],
            current_runtime().clock.now(),
        )
        return _respond(uow, plan)


@plans.route("/<plan_id>/close", methods=["POST"])
@require_roles(*EDITORS)
@plans.arguments(CloseIn, example={"reason": "goals met"})
@plans.response(200, PlanOut)
@plans.alt_response(409, description=NOT_EDITABLE)
def close(body: dict[str, Any], plan_id: str) -> Any:
    """Close the plan."""
    with _uow() as uow:
        return _respond(
            uow,
            operations.close(
                uow, current_principal(), plan_id, body["reason"], current_runtime().clock.now()
            ),
        )


@goals.route("/<plan_id>/goals", methods=["POST"])
@require_roles(*EDITORS)
@goals.arguments(GoalIn, example=GOAL_EXAMPLE)
@goals.response(201, PlanOut)
@goals.alt_response(409, description=NOT_EDITABLE)
def add_goal(goal: dict[str, Any], plan_id: str) -> Any:
    """Add a goal in the client's own words with a measurable target and date."""
    with _uow() as uow:
        plan, _version, _goal_id = operations.add_goal(uow, current_principal(), plan_id, goal)
        return _respond(uow, plan)


@goals.route("/<plan_id>/goals/<goal_id>", methods=["PATCH"])
@require_roles(*EDITORS)
@goals.arguments(
    GoalPatch, example={"in_own_words": "A flat near my sister", "target_date": "2027-04-30"}
)
@goals.response(200, PlanOut)
@goals.alt_response(409, description=NOT_EDITABLE)
def update_goal(changes: dict[str, Any], plan_id: str, goal_id: str) -> Any:
    """Write a proposed goal with the client, or change a goal during a review."""
    with _uow() as uow:
        plan, _version = operations.update_goal(uow, current_principal(), plan_id, goal_id, changes)
        return _respond(uow, plan)


@goals.route("/<plan_id>/goals/<goal_id>", methods=["DELETE"])
@require_roles(*EDITORS)
@goals.response(200, PlanOut)
@goals.alt_response(409, description=NOT_EDITABLE)
def remove_goal(plan_id: str, goal_id: str) -> Any:
    """Remove a goal from the working version."""
    with _uow() as uow:
        plan, _version = operations.remove_goal(uow, current_principal(), plan_id, goal_id)
        return _respond(uow, plan)


@goals.route("/<plan_id>/goals/<goal_id>/strategies", methods=["POST"])
@require_roles(*EDITORS)
@goals.arguments(
    StrategyIn,
    example={
        "description": "Referral to Housing First for a tenancy",
        "type": "referral",
        "responsible": "partner_service",
        "due_by": "2027-01-15",
        "partner_service_id": "housing-first-tenancy",
    },
)
@goals.response(201, PlanOut)
@goals.alt_response(409, description=NOT_EDITABLE)
def add_strategy(strategy: dict[str, Any], plan_id: str, goal_id: str) -> Any:
    """Add a strategy: what is done, by whom, by when (a referral is requested on approval)."""
    with _uow() as uow:
        plan, _version, _strategy_id = operations.add_strategy(
            uow, current_principal(), plan_id, goal_id, strategy
        )
        return _respond(uow, plan)


@goals.route("/<plan_id>/goals/<goal_id>/strategies/<strategy_id>", methods=["DELETE"])
@require_roles(*EDITORS)
@goals.response(200, PlanOut)
@goals.alt_response(409, description=NOT_EDITABLE)
def remove_strategy(plan_id: str, goal_id: str, strategy_id: str) -> Any:
    """Remove a strategy from the working version."""
    with _uow() as uow:
        plan, _version = operations.remove_strategy(
            uow, current_principal(), plan_id, goal_id, strategy_id
        )
        return _respond(uow, plan)


@goals.route("/<plan_id>/safety-plan", methods=["PUT"])
@require_roles(*EDITORS)
@goals.arguments(
    SafetyPlanIn,
    example={
        "warning_signs": ["Not sleeping"],
        "internal_coping_strategies": ["Walk the dog"],
        "distraction_people_and_places": ["The library"],
        "people_to_ask_for_help": ["Sister: 555-0101"],
        "professionals_and_crisis_lines": ["Crisis line 988"],
        "making_environment_safe": ["Medication with pharmacist"],
    },
)
@goals.response(200, PlanOut)
@goals.alt_response(409, description=NOT_EDITABLE)
def set_safety_plan(safety_plan: dict[str, Any], plan_id: str) -> Any:
    """The six sections of the safety plan (required after a high-risk flag)."""
    with _uow() as uow:
        plan, _version = operations.set_safety_plan(uow, current_principal(), plan_id, safety_plan)
        return _respond(uow, plan)


@goals.route("/<plan_id>/goals/<goal_id>/progress-notes", methods=["POST"])
@require_roles(*EDITORS)
@goals.arguments(
    ProgressNoteIn, example={"note": "Viewed two flats", "attainment": 0, "achieved": False}
)
@goals.response(201, ProgressNoteOut)
@goals.alt_response(409, description=NOT_EDITABLE)
def add_progress_note(note: dict[str, Any], plan_id: str, goal_id: str) -> Any:
    """Monitoring: a progress note with a goal attainment rating."""
    with _uow() as uow:
        return operations.add_progress_note(uow, current_principal(), plan_id, goal_id, note)


@goals.route("/<plan_id>/goals/<goal_id>/progress-notes", methods=["GET"])
@require_roles(*READERS)
@goals.arguments(PageArgs, location="query")
@goals.response(200, ProgressNotePage)
def list_progress_notes(args: dict[str, Any], plan_id: str, goal_id: str) -> Any:
    """The goal's progress notes, oldest first."""
    with _uow() as uow:
        return page_body(
            operations.list_progress_notes(
                uow,
                current_principal(),
                plan_id,
                goal_id,
                limit=args["limit"],
                cursor=args["cursor"],
            )
        )


@reviews.route("/overdue", methods=["GET"])
@require_roles(*READERS)
@reviews.arguments(PageArgs, location="query")
@reviews.response(200, OverdueReviewPage)
def overdue(args: dict[str, Any]) -> Any:
    """Reviews past their date, longest overdue first: your plans (case manager), your team's
    (supervisor), or all (admin)."""
    # An audited read: the query and its audit row in two round trips (every caseload page
    # view asks this).
    with current_runtime().audited_read() as read:
        page = operations.overdue_reviews(
            read,
            current_principal(),
            current_runtime().clock.today(),
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return page_body(
            page,
            [
                {
                    "review_id": review.id,
                    "plan_id": plan.id,
                    "client_id": plan.client_id,
                    "client_reference": plan.client_reference,
                    "owner_id": plan.owner_id,
                    "due_on": review.due_on,
                    "reason": review.reason,
                    "open_suggested_changes": open_suggestions,
                }
                for review, plan, open_suggestions in page.items
            ],
        )


# -- crisis ------------------------------------------------------------------------------------
@crisis.route("/<client_id>/emergency-access/crisis-picture", methods=["GET"])
@require_roles(*emergency_access.EMERGENCY_ROLES)
@crisis.response(200, CrisisPictureOut)
def read_crisis_picture(client_id: str) -> Any:
    """The client's safety plan and crisis contacts under an emergency grant made in intake (404
    without one in force); X-Purpose required, every read audited as emergency access."""
    required_purpose(emergency_access.PURPOSE_WHY)
    with _uow() as uow:
        return operations.crisis_picture(
            uow, current_principal(), client_id, now=current_runtime().clock.now()
        )


def _crisis_out(uow: Any, crisis: Any) -> dict[str, Any]:
    return _crises_out(uow, [crisis])[0]


def _crises_out(uow: Any, crises: Sequence[Any]) -> list[dict[str, Any]]:
    """Crisis episodes with their follow-ups, read for the whole page at once."""
    follow_ups = operations.follow_ups_of(uow, crises)
    fields = [name for name in CrisisEpisodeOut().fields if name != "follow_ups"]
    return [
        {**{name: getattr(crisis, name) for name in fields}, "follow_ups": follow_ups[crisis.id]}
        for crisis in crises
    ]


@crisis.route("/<client_id>/crisis-episodes", methods=["GET"])
@require_roles(*READERS)
@crisis.arguments(PageArgs, location="query")
@crisis.response(200, CrisisEpisodePage)
def list_crisis_episodes(args: dict[str, Any], client_id: str) -> Any:
    """The client's crisis episodes, oldest first, each with its follow-up contacts."""
    with _uow() as uow:
        page = operations.list_crises(
            uow, current_principal(), client_id, limit=args["limit"], cursor=args["cursor"]
        )
        return page_body(page, _crises_out(uow, page.items))


@crisis.route("/<client_id>/hospital-discharges", methods=["POST"])
@require_roles(*EDITORS)
@crisis.arguments(HospitalDischargeIn, example={"discharged_at": "2026-11-30T10:00:00+00:00"})
@crisis.response(201, CrisisEpisodeOut)
def report_hospital_discharge(body: dict[str, Any], client_id: str) -> Any:
    """A discharge from hospital: follow-up contacts within 24 and 72 hours go on the worklist."""
    with _uow() as uow:
        crisis_episode = operations.report_hospital_discharge(
            uow, current_principal(), client_id, body["discharged_at"]
        )
        return _crisis_out(uow, crisis_episode)


@crises.route("/<crisis_id>/actions", methods=["POST"])
@require_roles(*EDITORS, "on_call")
@crises.arguments(CrisisActionIn, example={"action": "safety_plan_reviewed"})
@crises.response(200, CrisisEpisodeOut)
@crises.alt_response(409, description="The crisis episode is closed.")
def record_crisis_action(body: dict[str, Any], crisis_id: str) -> Any:
    """Record what was done (safety plan reviewed, means restriction, emergency services called,
    admission); on call may, under an emergency grant for the client."""
    with _uow() as uow:
        found = operations.record_crisis_action(
            uow, current_principal(), crisis_id, body["action"], current_runtime().clock.now()
        )
        return _crisis_out(uow, found)


@crises.route("/<crisis_id>/close", methods=["POST"])
@require_roles(*EDITORS)
@crises.arguments(
    CrisisCloseIn, example={"outcome": "stabilised_in_community", "note": "Safe at home."}
)
@crises.response(200, CrisisEpisodeOut)
@crises.alt_response(409, description="The crisis episode is already closed.")
def close_crisis_episode(body: dict[str, Any], crisis_id: str) -> Any:
    """Close the crisis with its outcome and a note."""
    with _uow() as uow:
        found = operations.close_crisis(
            uow,
            current_principal(),
            crisis_id,
            body["outcome"],
            body["note"],
            current_runtime().clock.now(),
        )
        return _crisis_out(uow, found)


@follow_ups.route("", methods=["GET"])
@require_roles(*READERS)
@follow_ups.arguments(FollowUpArgs, location="query")
@follow_ups.response(200, FollowUpPage)
def list_follow_ups(args: dict[str, Any]) -> Any:
    """Follow-up contacts of the clients you carry or supervise, soonest due first."""
    with _uow() as uow:
        return page_body(
            operations.worklist(
                uow,
                current_principal(),
                args.get("status"),
                limit=args["limit"],
                cursor=args["cursor"],
            )
        )


@follow_ups.route("/<task_id>/complete", methods=["POST"])
@require_roles(*EDITORS)
@follow_ups.response(200, FollowUpOut)
@follow_ups.alt_response(409, description="Already recorded.")
def complete_follow_up(task_id: str) -> Any:
    """The follow-up contact happened."""
    with _uow() as uow:
        return operations.complete_follow_up(
            uow, current_principal(), task_id, current_runtime().clock.now()
        )
