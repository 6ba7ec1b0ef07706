"""Referrals as FHIR R4 resources, following the SDOH Clinical Care IG: a referral is a Task
(SDOHCC-TaskForReferralManagement) whose focus is a ServiceRequest with the same id. Every resource
is built as JSON and validated by ``fhir.resources`` (its R4B models, the R4 structures of Task,
ServiceRequest, Bundle, CapabilityStatement and OperationOutcome) before it leaves; a Task a
partner sends back is validated the same way before its move is read. No Flask here."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task
from pydantic import ValidationError

from services.referrals.domain import REASON_CODES, ReferralStatus
from services.referrals.models import Referral

FHIR_JSON = "application/fhir+json"
JSON_PATCH = "application/json-patch+json"
SDOH_CODES = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
IG = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition"
TASK_PROFILE = f"{IG}/SDOHCC-TaskForReferralManagement"
SERVICE_REQUEST_PROFILE = f"{IG}/SDOHCC-ServiceRequest"
TASK_CODES = "http://hl7.org/fhir/CodeSystem/task-code"
#: The IG and the version these resources follow (its canonical and package id, STU 2.2).
IMPLEMENTATION_GUIDE = "http://hl7.org/fhir/us/sdoh-clinicalcare/ImplementationGuide/hl7.fhir.us.sdoh-clinicalcare|2.2.0"
CASEHUB = "https://casehub.example/fhir"
#: Casehub's own code systems, the same in every agency (documented in docs/partners.md).
REASON_SYSTEM = f"{CASEHUB}/CodeSystem/referral-reason"
DOMAIN_SYSTEM = f"{CASEHUB}/CodeSystem/life-domain"
RESULTING_ACTIVITY = "resulting-activity"
#: The type of the IG's Task.output slices for what was done (STU 2.2 names them
#: PerformedActivityCode and PerformedActivityReference; both are typed resulting-activity).
RESULTING_ACTIVITY_TYPE: Mapping[str, Any] = {
    "coding": [{"system": SDOH_CODES, "code": RESULTING_ACTIVITY, "display": "Resulting Activity"}]
}
#: Casehub's own output type for the outcome in words: free text is no procedure code, so it is
#: not a resulting-activity output (the IG has no slice for it; its output slicing is open).
OUTPUT_SYSTEM = f"{CASEHUB}/CodeSystem/task-output"
OUTCOME_TYPE: Mapping[str, Any] = {
    "coding": [{"system": OUTPUT_SYSTEM, "code": "outcome", "display": "Outcome"}],
    "text": "Outcome",
}
#: Bounds on what a partner's Task may carry back (the partner API's outcome is 2,000 too).
MAX_OUTCOME = 2_000
MAX_ACTIVITIES = 20
MAX_ACTIVITY_JSON = 4_000
#: The IG's SDOH category for each life domain of the assessment it covers.
SDOH_CATEGORY: Mapping[str, str] = {
    "housing": "housing-instability",
    "income": "financial-insecurity",
    "work_and_education": "employment-status",
    "relationships": "social-connection",
    "leisure": "social-connection",
    "mental_state": "stress",
}
UNSPECIFIED = "sdoh-category-unspecified"
SNOMED = "http://snomed.info/sct"
#: ServiceRequest.code is 1..1 and bound (required) to US Core Procedure Codes, with extensible
#: bindings per SDOH category. Casehub knows only the life domain, never the procedure a service
#: will do, so a domain whose referral is to a social service gets the SNOMED CT procedure the
#: IG's own ServiceRequest examples classify theirs with (STU 2.2, e.g.
#: SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample: 410606002).
SOCIAL_SERVICE: Mapping[str, str] = {
    "system": SNOMED,
    "code": "410606002",
    "display": "Social service procedure",
}
SERVICE_CODES: Mapping[str, Mapping[str, str]] = {
    domain: SOCIAL_SERVICE
    for domain in ("housing", "income", "work_and_education", "relationships", "leisure")
}
#: Any other referral (a clinical domain such as mental state, or none named): SNOMED CT's
#: general "Referral to service", as FHIR's own mental-health referral example
#: (ActivityDefinition referralPrimaryCareMentalHealth) codes one, so ``code`` is never words only.
REFERRAL_TO_SERVICE: Mapping[str, str] = {
    "system": SNOMED,
    "code": "306206005",
    "display": "Referral to service",
}
#: A Task's status -> its ServiceRequest's (the order stays active while the Task is open).
REQUEST_STATUS: Mapping[str, str] = {
    "draft": "draft",
    "requested": "active",
    "accepted": "active",
    "in-progress": "active",
    "on-hold": "on-hold",
    "completed": "completed",
    "rejected": "revoked",
    "failed": "revoked",
    "cancelled": "revoked",
    "entered-in-error": "entered-in-error",
}


@dataclass(frozen=True)
class Agency:
    """The referring agency as its resources name it. Client references and referral ids are
    the agency's own numbers (every agency has a C-1005), so their identifier systems live under
    the agency's base URI: a partner serving two agencies never takes two people for one."""

    identifier_base: str
    name: str

    @property
    def client_reference_system(self) -> str:
        return f"{self.identifier_base}/NamingSystem/client-reference"

    @property
    def referral_system(self) -> str:
        return f"{self.identifier_base}/NamingSystem/referral"

    @property
    def consent_system(self) -> str:
        return f"{self.identifier_base}/NamingSystem/consent"


class FhirInvalid(ValueError):
    """A resource or patch that is not valid FHIR (or not a Task Casehub can read a move from)."""


def _valid(model: Any, resource: dict[str, Any]) -> dict[str, Any]:
    """The resource as ``fhir.resources`` serializes it (FHIR JSON) once it validated."""
    return dict(json.loads(model.model_validate(resource).model_dump_json(exclude_none=True)))


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _client(referral: Referral, agency: Agency) -> dict[str, Any]:
    """The client as a logical reference typed ``Patient`` (the IG's Task.for and
    ServiceRequest.subject are US Core Patients): the agency's reference alone, never a name."""
    return {
        "type": "Patient",
        "identifier": {
            "system": agency.client_reference_system,
            "value": referral.client_reference,
        },
        "display": f"Client {referral.client_reference}",
    }


def _organization(referral: Referral) -> dict[str, Any]:
    return {"reference": f"Organization/{referral.organization_id}", "type": "Organization"}


def _requester(agency: Agency) -> dict[str, Any]:
    """The agency as the IG's requester (a US Core Organization): a logical reference by its
    base URI, which partners already key identifiers on, and its name."""
    return {
        "type": "Organization",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": agency.identifier_base},
        "display": agency.name,
    }


def reason_text(reason_code: str) -> str:
    """A reason code in words (``no_capacity`` -> "No capacity")."""
    return reason_code.replace("_", " ").capitalize()


def task(referral: Referral, reason_code: str | None, agency: Agency) -> dict[str, Any]:
    """The referral as the IG's Task; ``reason_code`` is the one of the move that set its status."""
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "id": referral.id,
        "meta": {"profile": [TASK_PROFILE], "lastUpdated": _moment(referral.updated_at)},
        "identifier": [{"system": agency.referral_system, "value": referral.id}],
        "status": referral.status,
        "intent": "order",
        "code": {"coding": [{"system": TASK_CODES, "code": "fulfill"}]},
        "focus": {"reference": f"ServiceRequest/{referral.id}", "type": "ServiceRequest"},
        "for": _client(referral, agency),
        "authoredOn": _moment(referral.sent_at or referral.created_at),
        "lastModified": _moment(referral.updated_at),
        "requester": _requester(agency),
        "owner": _organization(referral),
    }
    if reason_code:
        resource["statusReason"] = {
            "coding": [{"system": REASON_SYSTEM, "code": reason_code}],
            "text": reason_text(reason_code),  # the IG's statusReason.text is 1..1
        }
    outputs = task_outputs(referral.resulting_activities or [], referral.outcome)
    if outputs:
        resource["output"] = outputs
    return _valid(Task, resource)


def task_outputs(activities: Sequence[Mapping[str, Any]], outcome: str | None) -> list[Any]:
    """The IG's resulting-activity outputs as the partner sent them, then the outcome in words
    unless it is only the words of those activities (as Casehub derived it from them)."""
    outputs: list[Any] = [{"type": RESULTING_ACTIVITY_TYPE, **value} for value in activities]
    if outcome and outcome != activities_text(activities):
        outputs.append({"type": OUTCOME_TYPE, "valueString": outcome})
    return outputs


def activities_text(activities: Sequence[Mapping[str, Any]]) -> str | None:
    """Resulting activities in words, for the partner API's ``outcome`` and the completed event
    (a code's text or display, else system|code; a reference's display, else what it names)."""
    words = [_words(value) for value in activities]
    return "; ".join(words)[:MAX_OUTCOME] if words else None


def _words(value: Mapping[str, Any]) -> str:
    if "valueCodeableConcept" in value:
        concept = value["valueCodeableConcept"]
        coded = [c for c in concept.get("coding", []) if c.get("code")]
        named = concept.get("text") or next((c["display"] for c in coded if c.get("display")), "")
        return str(named or f"{coded[0].get('system', '')}|{coded[0]['code']}")
    reference = value["valueReference"]
    named = reference.get("display") or reference.get("reference")
    return str(named or f"Procedure {reference.get('identifier', {}).get('value', '')}".strip())


def service_request(referral: Referral, agency: Agency) -> dict[str, Any]:
    """What is asked for: the SDOH category of the need, the service, the client's reference."""
    category = [
        {
            "coding": [
                {
                    "system": SDOH_CODES,
                    "code": SDOH_CATEGORY.get(referral.domain or "", UNSPECIFIED),
                }
            ]
        }
    ]
    if referral.domain:
        category.append({"coding": [{"system": DOMAIN_SYSTEM, "code": referral.domain}]})
    performer = [_organization(referral)]
    if referral.service_id:
        performer.append(
            {"reference": f"HealthcareService/{referral.service_id}", "type": "HealthcareService"}
        )
    resource = {
        "resourceType": "ServiceRequest",
        "id": referral.id,
        "meta": {"profile": [SERVICE_REQUEST_PROFILE], "lastUpdated": _moment(referral.updated_at)},
        "identifier": [{"system": agency.referral_system, "value": referral.id}],
        "status": REQUEST_STATUS[referral.status],
        "intent": "order",
        "category": category,
        "code": _service_code(referral),
        "subject": _client(referral, agency),
        "authoredOn": _moment(referral.sent_at or referral.created_at),
        "requester": _requester(agency),
        "performer": performer,
    }
    if referral.consent_ids:
        resource["supportingInfo"] = [
            {
                "type": "Consent",
                "identifier": {"system": agency.consent_system, "value": consent_id},
                "display": "The client's consent to share with you",
            }
            for consent_id in referral.consent_ids
        ]
    return _valid(ServiceRequest, resource)


def _service_code(referral: Referral) -> dict[str, Any]:
    """The service asked for: a procedure code where Casehub knows one, always in words."""
    code: dict[str, Any] = {"text": f"Referral to {referral.service_id or 'a partner service'}"}
    code["coding"] = [dict(SERVICE_CODES.get(referral.domain or "", REFERRAL_TO_SERVICE))]
    return code


def search_bundle(
    tasks: Sequence[dict[str, Any]], base_url: str, *, total: int, links: Mapping[str, str]
) -> dict[str, Any]:
    """A searchset of one page of ``tasks``; ``total`` counts the matches on every page, and
    ``links`` maps a relation (``self``, ``next``) to its URL."""
    return _valid(
        Bundle,
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": [{"relation": relation, "url": url} for relation, url in links.items()],
            "entry": [
                {
                    "fullUrl": f"{base_url}/Task/{resource['id']}",
                    "resource": resource,
                    "search": {"mode": "match"},
                }
                for resource in tasks
            ],
        },
    )


def capability_statement(base_url: str, released: datetime) -> dict[str, Any]:
    """What a partner's FHIR client may do here: read and search Tasks, read ServiceRequests,
    move Tasks with PATCH or PUT."""
    return _valid(
        CapabilityStatement,
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": released.isoformat(),
            "kind": "instance",
            "fhirVersion": "4.0.1",
            "format": [FHIR_JSON],
            "patchFormat": [JSON_PATCH],
            "implementationGuide": [IMPLEMENTATION_GUIDE],
            "implementation": {"description": "Casehub referrals for partners", "url": base_url},
            "rest": [
                {
                    "mode": "server",
                    "security": {
                        "description": "A partner API key (X-Api-Key) or a bearer token with "
                        "the partner role and an org claim."
                    },
                    "resource": [
                        {
                            "type": "Task",
                            "supportedProfile": [TASK_PROFILE],
                            "interaction": [
                                {"code": code}
                                for code in ("read", "search-type", "patch", "update")
                            ],
                            "searchParam": [
                                {"name": "owner", "type": "reference"},
                                {"name": "status", "type": "token"},
                            ],
                        },
                        {
                            "type": "ServiceRequest",
                            "supportedProfile": [SERVICE_REQUEST_PROFILE],
                            "interaction": [{"code": "read"}],
                        },
                    ],
                }
            ],
        },
    )


#: HTTP status -> the OperationOutcome issue code.
_ISSUE_CODES: Mapping[int, str] = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    412: "conflict",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
}


def operation_outcome(status: int, message: str) -> dict[str, Any]:
    return _valid(
        OperationOutcome,
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": _ISSUE_CODES.get(status, "exception"),
                    "diagnostics": message,
                }
            ],
        },
    )


@dataclass(frozen=True)
class TaskMove:
    """What a Task sent back asks for: its status, and the reason code and outcome it carries."""

    status: str
    reason_code: str | None
    outcome: str | None
    #: ``statusReason.text``, the partner's own words (kept with the move).
    note: str | None = None
    #: The IG's resulting-activity output values (``{"valueCodeableConcept": …}`` or
    #: ``{"valueReference": …}``), as FHIR JSON.
    activities: tuple[dict[str, Any], ...] = ()


def read_move(resource: Any, referral_id: str) -> TaskMove:
    """Validate the Task (``fhir.resources``) and read the move from it."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Task":
        raise FhirInvalid("the body must be a Task resource")
    try:
        valid = Task.model_validate(resource)
    except ValidationError as invalid:
        raise FhirInvalid(f"not a valid Task: {invalid.errors()[0]['msg']}") from None
    if valid.id not in (None, referral_id):
        raise FhirInvalid("the Task's id is not the one in the URL")
    if valid.status not in {str(s) for s in ReferralStatus}:
        raise FhirInvalid(f"status {valid.status!r} is not a Task status")
    reason = None
    note = valid.statusReason.text if valid.statusReason is not None else None
    if valid.statusReason is not None:
        codes = [c.code for c in valid.statusReason.coding or [] if c.system == REASON_SYSTEM]
        if not codes or codes[0] not in REASON_CODES:
            raise FhirInvalid(f"statusReason needs a code of {REASON_SYSTEM}")
        reason = codes[0]
    activities, outcome = _read_outputs(valid.output or [])
    if reason is not None and note == reason_text(reason):
        note = None  # the words we gave the code, sent back: nothing of the partner's own
    return TaskMove(str(valid.status), reason, outcome, note, activities)


def _read_outputs(outputs: Sequence[Any]) -> tuple[tuple[dict[str, Any], ...], str | None]:
    """The resulting activities (the IG's shapes) and the outcome in words: Casehub's outcome
    output, a resulting-activity valueString (read as before the IG's shapes were), else the
    words of the activities. An output of another type is refused, never silently dropped."""
    activities: list[dict[str, Any]] = []
    words: list[str] = []
    for output in outputs:
        codes = {(c.system, c.code) for c in output.type.coding or []}
        if any(code == RESULTING_ACTIVITY for _, code in codes):
            if output.valueString is not None:
                words.append(output.valueString)
            else:
                activities.append(_activity(output))
        elif (OUTPUT_SYSTEM, "outcome") in codes and output.valueString is not None:
            words.append(output.valueString)
        else:
            raise FhirInvalid(
                f"an output's type is {SDOH_CODES}#{RESULTING_ACTIVITY} (what was done) or "
                f"{OUTPUT_SYSTEM}#outcome with a valueString (the outcome in words)"
            )
    if len(words) > 1:
        raise FhirInvalid("a Task carries one outcome in words")
    if len(activities) > MAX_ACTIVITIES:
        raise FhirInvalid(f"at most {MAX_ACTIVITIES} resulting activities")
    outcome = words[0] if words else activities_text(activities)
    if outcome is not None and len(outcome) > MAX_OUTCOME:
        raise FhirInvalid(f"the outcome has at most {MAX_OUTCOME} characters")
    return tuple(activities), outcome


def _activity(output: Any) -> dict[str, Any]:
    """One resulting activity in the IG's shapes: a procedure code (its valueCodeableConcept is
    bound, required, to US Core Procedure Codes) or a reference to a Procedure."""
    if output.valueCodeableConcept is not None:
        concept = output.valueCodeableConcept
        if not any(c.system and c.code for c in concept.coding or []):
            raise FhirInvalid(
                "a resulting activity's valueCodeableConcept needs a coding with a system and "
                "a code (the IG binds it to US Core Procedure Codes, e.g. SNOMED CT)"
            )
        value = {"valueCodeableConcept": _element(concept)}
    elif output.valueReference is not None:
        if _target_type(output.valueReference) != "Procedure":
            raise FhirInvalid(
                "a resulting activity's valueReference points to a Procedure: "
                '"Procedure/{id}" or its absolute URL, or "type": "Procedure" with an identifier'
            )
        value = {"valueReference": _element(output.valueReference)}
    else:
        raise FhirInvalid(
            "a resulting activity is a valueCodeableConcept (a procedure code) or a "
            "valueReference to a Procedure (a valueString is read as the outcome in words)"
        )
    if len(json.dumps(value)) > MAX_ACTIVITY_JSON:
        raise FhirInvalid(f"a resulting activity has at most {MAX_ACTIVITY_JSON} characters")
    return value


def _element(element: Any) -> dict[str, Any]:
    return dict(json.loads(element.model_dump_json(exclude_none=True)))


def _target_type(reference: Any) -> str | None:
    """The resource type a reference names: its ``type``, and the type in its ``reference``
    (``Procedure/1``, ``https://partner.example/fhir/Procedure/1/_history/2``) agreeing."""
    named = None
    if reference.reference:
        parts = reference.reference.split("/_history/")[0].split("?")[0].rstrip("/").split("/")
        named = parts[-2] if len(parts) >= 2 else None
        if named is None or (reference.type and reference.type != named):
            return None
    elif reference.identifier is None:
        return None
    return reference.type or named


def patched(resource: dict[str, Any], operations: Any) -> dict[str, Any]:
    """RFC 6902 JSON Patch (add, remove, replace, test) applied to a copy of ``resource``."""
    if not isinstance(operations, list):
        raise FhirInvalid("a JSON Patch is an array of operations")
    document: Any = copy.deepcopy(resource)
    for operation in operations:
        if not isinstance(operation, dict) or not isinstance(operation.get("path"), str):
            raise FhirInvalid("each operation has an op and a path")
        document = _apply(document, operation)
    return document  # type: ignore[no-any-return]


def _apply(document: Any, operation: dict[str, Any]) -> Any:
    op, path = operation.get("op"), operation["path"]
    if op not in ("add", "remove", "replace", "test"):
        raise FhirInvalid(f"JSON Patch op {op!r} is not supported here")
    if path == "":
        raise FhirInvalid("the whole resource cannot be patched: use PUT")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]
    parent = document
    for part in parts[:-1]:
        parent = _child(parent, part)
    last = parts[-1]
    if op == "test":
        if _child(parent, last) != operation.get("value"):
            raise FhirInvalid(f"test failed at {path}")
    elif isinstance(parent, dict):
        if op in ("replace", "remove") and last not in parent:
            raise FhirInvalid(f"nothing at {path}")
        if op == "remove":
            del parent[last]
        else:
            parent[last] = operation.get("value")
    elif isinstance(parent, list):
        index = len(parent) if last == "-" and op == "add" else _index(parent, last, op == "add")
        if op == "add":
            parent.insert(index, operation.get("value"))
        elif op == "remove":
            del parent[index]
        else:
            parent[index] = operation.get("value")
    else:
        raise FhirInvalid(f"nothing at {path}")
    return document


def _child(node: Any, part: str) -> Any:
    if isinstance(node, dict) and part in node:
        return node[part]
    if isinstance(node, list):
        return node[_index(node, part, False)]
    raise FhirInvalid(f"nothing at {part}")


def _index(node: list[Any], part: str, adding: bool) -> int:
    if not part.isdigit() or int(part) > len(node) - (0 if adding else 1):
        raise FhirInvalid(f"no element {part}")
    return int(part)
