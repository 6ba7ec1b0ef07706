"""The FHIR R4 referral API for FHIR-aware partners (SDOH Clinical Care IG): Task and
ServiceRequest reads and searches, the performer's moves by PATCH or PUT, a CapabilityStatement.
Same credentials, isolation and audit as the partner API; ``application/fhir+json`` in and out;
every refusal an OperationOutcome."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, request
from marshmallow import INCLUDE, Schema, fields, validate
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from services.referrals import fhir, operations
from services.referrals.domain import ReferralStatus, TransitionRefused
from services.referrals.models import Referral
from services.referrals.refusals import REFUSALS
from shared.errors import CasehubError
from shared.web import current_principal, require_roles
from shared.web.problems import Problem, http_exception_response
from shared.web.query import Blueprint
from shared.web.service_app import current_runtime

blueprint = Blueprint(
    "fhir",
    __name__,
    url_prefix="/fhir",
    description="FHIR R4 referral API (SDOH Clinical Care IG): Task and ServiceRequest as "
    "application/fhir+json, errors as OperationOutcome. Same credentials as the partner API.",
)
#: When this FHIR interface last changed (the CapabilityStatement's date).
RELEASED = datetime(2026, 12, 1, tzinfo=UTC)
RESOURCE_DOC = {"content": {fhir.FHIR_JSON: {"schema": {"type": "object"}}}}
OUTCOME_DOC = {
    "description": "An OperationOutcome: an unknown query parameter, or a body that is not a "
    "valid Task, patch or move",
    **RESOURCE_DOC,
}


def _responses(**answers: Any) -> dict[Any, Any]:
    return {422: OUTCOME_DOC, **{int(status[1:]): doc for status, doc in answers.items()}}


class FhirResource(Schema):
    """A FHIR R4 resource (application/fhir+json), validated by ``fhir.resources``."""

    class Meta:
        unknown = INCLUDE  # every element of the resource, as FHIR defines it

    resourceType = fields.String(required=True)


class TaskSearchArgs(Schema):
    owner = fields.String(
        validate=validate.Length(min=1, max=120),
        metadata={
            "description": "`Organization/{your organisation id}` or the id alone (another "
            "organisation finds nothing)."
        },
    )
    status = fields.String(validate=validate.OneOf([str(s) for s in ReferralStatus]))
    _count = fields.Integer(
        data_key="_count", load_default=50, validate=validate.Range(min=1, max=200)
    )
    _cursor = fields.String(
        data_key="_cursor",
        load_default=None,
        metadata={"description": "From the Bundle's `next` link."},
    )


def _fhir(resource: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(resource, default=str), status=status, mimetype=fhir.FHIR_JSON)


def _outcome(status: int, message: str, headers: Any = None) -> Response:
    response = _fhir(fhir.operation_outcome(status, message), status)
    for name, value in dict(headers or {}).items():
        response.headers[name] = value
    return response


def _refused(error: CasehubError) -> Response:
    allowed = error.extensions.get("allowed")
    named = allowed is None or "you may make it" in error.detail
    suffix = "" if named else f" (you may make it: {', '.join(allowed) or 'nothing more'})"
    return _outcome(error.status, error.detail + suffix)


blueprint.register_error_handler(CasehubError, _refused)
blueprint.register_error_handler(
    TransitionRefused, lambda error: _refused(REFUSALS[TransitionRefused](error))
)


def _problem(error: Problem) -> Response:
    """A refusal of the platform (credentials, roles, query): its fields named in the text."""
    errors = error.extensions.get("errors")
    named = f" {json.dumps(errors, sort_keys=True)}" if errors else ""
    return _outcome(error.status, (error.detail or error.title) + named, error.headers)


blueprint.register_error_handler(Problem, _problem)


def _http_refusal(error: HTTPException) -> Response:
    """A query the arguments refused names each parameter and why (webargs' messages)."""
    messages = (getattr(error, "data", None) or {}).get("messages")
    named = f" {json.dumps(messages, sort_keys=True)}" if messages else ""
    return _outcome(error.code or 500, (error.description or "refused") + named)


blueprint.register_error_handler(HTTPException, _http_refusal)
blueprint.register_error_handler(
    fhir.FhirInvalid, lambda error: _outcome(422, f"Not a valid request: {error}")
)


#: What a FHIR client may ask of this server, for a request that matches none of it.
SERVED = "Task (read, search, PATCH, PUT), ServiceRequest (read) and metadata"


def answer_unrouted_as_fhir(app: Flask) -> None:
    """A request under ``/fhir`` that matches no route (a resource type or interaction this
    server does not support) is a FHIR client's too: its 404 or 405 is an OperationOutcome,
    as every other answer there is; elsewhere the platform's problem+json."""

    def answer(error: HTTPException) -> Response:
        if request.path != blueprint.url_prefix and not request.path.startswith(
            f"{blueprint.url_prefix}/"
        ):
            return http_exception_response(error)
        if isinstance(error, MethodNotAllowed):
            allowed = ", ".join(sorted(error.valid_methods or []))
            message = f"{request.method} is not supported here (allowed: {allowed}); served: "
            return _outcome(405, message + SERVED, {"Allow": allowed})
        return _outcome(404, f"This server has no {request.path}; it serves {SERVED}.")

    app.register_error_handler(NotFound, answer)
    app.register_error_handler(MethodNotAllowed, answer)


def _base_url() -> str:
    return request.url_root.rstrip("/") + blueprint.url_prefix


def _agency() -> fhir.Agency:
    """The agency's identifier base (``REFERRALS_FHIR_IDENTIFIER_BASE``), else this FHIR base."""
    settings = current_runtime().service_settings
    return fhir.Agency(settings.fhir_identifier_base or _base_url(), settings.agency_name)


def _task(uow: Any, referral: Referral) -> dict[str, Any]:
    moves = operations.transitions(uow, referral)
    last = moves[-1] if moves and moves[-1].to_status == referral.status else None
    return fhir.task(referral, last.reason_code if last else None, _agency())


@blueprint.route("/metadata", methods=["GET"])
@blueprint.response(
    200, FhirResource, content_type=fhir.FHIR_JSON, description="The CapabilityStatement"
)
@blueprint.doc(security=[], responses=_responses())
def metadata() -> Response:
    """What this FHIR server supports (no credentials needed)."""
    return _fhir(fhir.capability_statement(_base_url(), RELEASED))


@blueprint.route("/Task", methods=["GET"])
@require_roles("partner")
@blueprint.arguments(TaskSearchArgs, location="query")
@blueprint.response(
    200, FhirResource, content_type=fhir.FHIR_JSON, description="A searchset Bundle of Tasks"
)
@blueprint.doc(responses=_responses())
def search_tasks(args: dict[str, Any]) -> Response:
    """Your Tasks, oldest first (filter by `status`; `owner` another organisation finds none)."""
    actor = current_principal()
    here = f"{_base_url()}/Task"
    links = {"self": here + (f"?{urlencode(request.args.to_dict())}" if request.args else "")}
    if "owner" in args and args["owner"] not in (f"Organization/{actor.org}", actor.org):
        return _fhir(fhir.search_bundle([], _base_url(), total=0, links=links))
    with current_runtime().unit_of_work() as uow:
        status = args.get("status")
        page = operations.list_referrals(
            uow, actor, status=status, limit=args["_count"], cursor=args["_cursor"]
        )
        tasks = [_task(uow, r) for r in page.items]
        total = operations.count_referrals(uow, actor, status=status)
    if page.next_cursor:
        links["next"] = f"{here}?" + urlencode(
            {**request.args.to_dict(), "_cursor": page.next_cursor}
        )
    return _fhir(fhir.search_bundle(tasks, _base_url(), total=total, links=links))


@blueprint.route("/Task/<referral_id>", methods=["GET"])
@require_roles("partner")
@blueprint.response(200, FhirResource, content_type=fhir.FHIR_JSON, description="The Task")
@blueprint.doc(responses=_responses())
def read_task(referral_id: str) -> Response:
    """One Task addressed to you."""
    with current_runtime().unit_of_work() as uow:
        return _fhir(_task(uow, operations.read(uow, current_principal(), referral_id)))


@blueprint.route("/ServiceRequest/<referral_id>", methods=["GET"])
@require_roles("partner")
@blueprint.response(
    200, FhirResource, content_type=fhir.FHIR_JSON, description="The ServiceRequest"
)
@blueprint.doc(responses=_responses())
def read_service_request(referral_id: str) -> Response:
    """The ServiceRequest a Task of yours fulfils (the same id)."""
    with current_runtime().unit_of_work() as uow:
        referral = operations.read(uow, current_principal(), referral_id)
        return _fhir(fhir.service_request(referral, _agency()))


def _body() -> Any:
    if not request.is_json:
        raise Problem(415, detail=f"Send {fhir.FHIR_JSON} (or {fhir.JSON_PATCH} to PATCH).")
    try:
        return json.loads(request.get_data(as_text=True))
    except ValueError:
        raise fhir.FhirInvalid("the body is not JSON") from None


def _move(referral_id: str, patch: bool) -> Response:
    actor, runtime = current_principal(), current_runtime()
    with runtime.unit_of_work() as uow:
        current = _task(uow, operations.read(uow, actor, referral_id))  # audited as a read
        sent = fhir.patched(current, _body()) if patch else _body()
        wanted = fhir.read_move(sent, referral_id)
        if wanted.status == current["status"]:
            was = fhir.read_move(current, referral_id)
            asked = (wanted.reason_code, wanted.outcome, wanted.activities)
            if asked != (was.reason_code, was.outcome, was.activities):
                raise fhir.FhirInvalid(
                    "only a move of status changes a Task here: its statusReason and output "
                    "are those of the move that set its status"
                )
            return _fhir(current)  # nothing to move (e.g. a PUT repeated)
        referral = operations.move(
            uow,
            actor,
            referral_id,
            wanted.status,
            reason_code=wanted.reason_code,
            note=f"via FHIR: {wanted.note}" if wanted.note else "via FHIR",
            outcome=wanted.outcome,
            activities=list(wanted.activities) or None,
            now=runtime.clock.now(),
        )
        return _fhir(_task(uow, referral))


MOVE_DOC = _responses(
    s409={"description": "Not a move allowed now (OperationOutcome naming yours)", **RESOURCE_DOC},
)


@blueprint.route("/Task/<referral_id>", methods=["PATCH"])
@require_roles("partner")
@blueprint.response(200, FhirResource, content_type=fhir.FHIR_JSON, description="The moved Task")
@blueprint.doc(
    requestBody={
        "content": {
            fhir.JSON_PATCH: {
                "schema": {"type": "array", "items": {"type": "object"}},
                "example": [{"op": "replace", "path": "/status", "value": "accepted"}],
            }
        }
    },
    responses=MOVE_DOC,
)
def patch_task(referral_id: str) -> Response:
    """Move a Task with a JSON Patch of `status`, `statusReason` and `output`."""
    return _move(referral_id, patch=True)


@blueprint.route("/Task/<referral_id>", methods=["PUT"])
@require_roles("partner")
@blueprint.response(200, FhirResource, content_type=fhir.FHIR_JSON, description="The moved Task")
@blueprint.doc(
    requestBody={
        "content": {
            fhir.FHIR_JSON: {
                "schema": {"type": "object"},
                "example": {"resourceType": "Task", "status": "accepted", "intent": "order"},
            }
        }
    },
    responses=MOVE_DOC,
)
def put_task(referral_id: str) -> Response:
    """Move a Task by sending it whole; only `status`, `statusReason` and `output` are read."""
    return _move(referral_id, patch=False)
