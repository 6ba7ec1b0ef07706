"""A FHIR client reading and moving a referral Task as the guide describes, every resource it
receives validated by fhir.resources."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from services.referrals.settings import ReferralsSettings
from tests.partners.conftest import Partner
from tests.referrals.conftest import HOUSING, THERAPY, ReferralsApi

FHIR_JSON = "application/fhir+json"
SDOH = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
REASONS = "https://casehub.example/fhir/CodeSystem/referral-reason"
OUTPUTS = "https://casehub.example/fhir/CodeSystem/task-output"
SNOMED = "http://snomed.info/sct"
PATCH = {"Content-Type": "application/json-patch+json"}
#: Unpinned, an agency's identifier systems live under the FHIR base partners call.
CLIENTS = "http://localhost/fhir/NamingSystem/client-reference"


def _read(partner: Partner, path: str, model: Any, status: int = 200, **request: Any) -> Any:
    response = partner.request(request.pop("method", "GET"), path, **request)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == FHIR_JSON
    return model.model_validate(response.json)


def test_a_fhir_client_reads_and_moves_a_referral_task(
    referrals: ReferralsApi, housing: Partner
) -> None:
    referral_id = referrals.referral(referrals.client())
    metadata = _read(housing, "/fhir/metadata", CapabilityStatement)
    assert {r.type for r in metadata.rest[0].resource} == {"Task", "ServiceRequest"}
    assert metadata.implementationGuide == [  # the IG and the version the resources follow
        "http://hl7.org/fhir/us/sdoh-clinicalcare/ImplementationGuide/hl7.fhir.us.sdoh-clinicalcare|2.2.0"
    ]
    assert str(metadata.date).startswith("2026-12-01")  # when this interface last changed
    bundle = _read(
        housing, f"/fhir/Task?owner=Organization/{housing.organization}&status=requested", Bundle
    )
    assert bundle.type == "searchset" and [e.resource.id for e in bundle.entry] == [referral_id]
    assert bundle.total == 1 and bundle.link[0].relation == "self"
    second = referrals.referral(referrals.client())
    first_page = _read(housing, "/fhir/Task?_count=1", Bundle)
    assert first_page.total == 2 and len(first_page.entry) == 1  # every match, not the page
    [following] = [link.url for link in first_page.link if link.relation == "next"]
    last_page = _read(housing, following.removeprefix("http://localhost"), Bundle)
    assert [e.resource.id for e in last_page.entry] == [second] and last_page.total == 2
    by_id = _read(housing, f"/fhir/Task?owner={housing.organization}&status=requested", Bundle)
    assert by_id.total == 2  # a reference search by id alone, as FHIR allows
    task = _read(housing, f"/fhir/Task/{referral_id}", Task)
    assert task.status == "requested" and task.intent == "order"
    assert task.for_fhir.identifier.system == CLIENTS
    assert task.identifier[0].system == "http://localhost/fhir/NamingSystem/referral"
    assert task.owner.reference == f"Organization/{housing.organization}"
    request = _read(
        housing, task.focus.reference and f"/fhir/{task.focus.reference}", ServiceRequest
    )
    assert request.id == referral_id and request.subject.identifier.value == "C-1042"
    assert any(c.system == SDOH for category in request.category for c in category.coding)

    patch = [{"op": "replace", "path": "/status", "value": "accepted"}]
    accepted = _read(
        housing,
        f"/fhir/Task/{referral_id}",
        Task,
        method="PATCH",
        body=patch,
        **{"Content-Type": "application/json-patch+json"},
    )
    assert accepted.status == "accepted"
    whole = {**housing.request("GET", f"/fhir/Task/{referral_id}").json, "status": "on-hold"}
    whole["statusReason"] = {"coding": [{"system": REASONS, "code": "could_not_contact"}]}
    held = _read(
        housing,
        f"/fhir/Task/{referral_id}",
        Task,
        method="PUT",
        body=whole,
        **{"Content-Type": FHIR_JSON},
    )
    assert held.status == "on-hold" and held.statusReason.coding[0].code == "could_not_contact"
    assert held.statusReason.text == "Could not contact"  # the IG's statusReason.text 1..1
    again = _read(housing, f"/fhir/Task/{referral_id}", Task)
    changed = [{"op": "replace", "path": "/statusReason/coding/0/code", "value": "no_capacity"}]
    not_a_move = housing.request(
        "PATCH",
        f"/fhir/Task/{referral_id}",
        changed,
        **{"Content-Type": "application/json-patch+json"},
    )
    assert not_a_move.status_code == 422, not_a_move.json  # never silently dropped
    assert "only a move of status" in not_a_move.json["issue"][0]["diagnostics"]
    assert _read(housing, f"/fhir/Task/{referral_id}", Task) == again
    done = _read(
        housing,
        f"/fhir/Task/{referral_id}",
        Task,
        method="PATCH",
        body=[
            {"op": "replace", "path": "/status", "value": "completed"},
            {
                "op": "add",
                "path": "/output",
                "value": [
                    {
                        "type": {"coding": [{"system": SDOH, "code": "resulting-activity"}]},
                        "valueString": "Tenancy signed",
                    }
                ],
            },
        ],
        **{"Content-Type": "application/json-patch+json"},
    )
    assert done.status == "completed" and done.output[0].valueString == "Tenancy signed"
    # words are no procedure code: Casehub's own output type, not the IG's resulting-activity
    assert done.output[0].type.coding[0].system == OUTPUTS
    assert done.output[0].type.coding[0].code == "outcome"
    assert housing.request("GET", f"/partner/referrals/{referral_id}").json["outcome"] == (
        "Tenancy signed"
    )


def test_refusals_are_operation_outcomes(referrals: ReferralsApi, housing: Partner) -> None:
    referral_id = referrals.referral(referrals.client())
    patch_headers = {"Content-Type": "application/json-patch+json"}
    illegal = _read(
        housing,
        f"/fhir/Task/{referral_id}",
        OperationOutcome,
        status=409,
        method="PATCH",
        body=[{"op": "replace", "path": "/status", "value": "completed"}],
        **patch_headers,
    )
    assert illegal.issue[0].code == "conflict" and "accepted" in illegal.issue[0].diagnostics
    no_reason = _read(
        housing,
        f"/fhir/Task/{referral_id}",
        OperationOutcome,
        status=422,  # as docs/partners.md says, as a missing outcome is
        method="PATCH",
        body=[{"op": "replace", "path": "/status", "value": "rejected"}],
        **patch_headers,
    )
    assert "reason_code" in no_reason.issue[0].diagnostics
    assert "no_capacity" in no_reason.issue[0].diagnostics
    assert illegal.issue[0].diagnostics.count("you may make it") == 1
    invalid = _read(
        housing,
        f"/fhir/Task/{referral_id}",
        OperationOutcome,
        status=422,
        method="PUT",
        body={"resourceType": "Task", "status": "accepted"},
        **{"Content-Type": FHIR_JSON},
    )
    assert invalid.issue[0].code == "invalid"
    missing = _read(housing, "/fhir/Task/no-such-task", OperationOutcome, status=404)
    assert missing.issue[0].code == "not-found"
    unsupported = _read(housing, "/fhir/Organization/housing-first", OperationOutcome, status=404)
    assert "ServiceRequest (read)" in unsupported.issue[0].diagnostics
    deleting = housing.request("DELETE", f"/fhir/Task/{referral_id}")
    assert deleting.status_code == 405 and deleting.mimetype == FHIR_JSON
    assert OperationOutcome.model_validate(deleting.json).issue[0].code == "not-supported"
    assert "PATCH" in deleting.headers["Allow"]
    elsewhere = housing.request("GET", "/no-such-path")  # outside /fhir: problem+json as ever
    assert elsewhere.status_code == 404 and elsewhere.mimetype == "application/problem+json"
    bad_count = _read(housing, "/fhir/Task?_count=0", OperationOutcome, status=422)
    assert "_count" in bad_count.issue[0].diagnostics  # the parameter named
    anonymous = referrals.http.get(f"/fhir/Task/{referral_id}")
    assert anonymous.status_code == 401 and anonymous.mimetype == FHIR_JSON
    OperationOutcome.model_validate(anonymous.json)


def test_an_agency_pins_its_identifier_systems_and_names_itself(
    referrals: ReferralsApi, housing: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two agencies both have a C-1042: under each agency's own base URI a partner serving both
    never takes them for one person; the requester is the agency by name, not the software."""
    monkeypatch.setenv("REFERRALS_FHIR_IDENTIFIER_BASE", "https://fhir.northside.example.org/")
    monkeypatch.setenv("CASEHUB_AGENCY_NAME", "Northside Community Mental Health")
    referrals.runtime.service_settings = ReferralsSettings.from_env()
    referral_id = referrals.referral(referrals.client())
    task = _read(housing, f"/fhir/Task/{referral_id}", Task)
    request = _read(housing, f"/fhir/ServiceRequest/{referral_id}", ServiceRequest)
    northside = "https://fhir.northside.example.org/NamingSystem"
    for resource in (task, request):
        assert resource.identifier[0].system == f"{northside}/referral"
        assert resource.requester.display == "Northside Community Mental Health"
    assert task.for_fhir.identifier.system == f"{northside}/client-reference"
    assert request.subject.identifier.system == f"{northside}/client-reference"


def test_an_identifier_base_that_is_not_a_uri_fails_at_start() -> None:
    with pytest.raises(ValueError, match="REFERRALS_FHIR_IDENTIFIER_BASE"):
        ReferralsSettings.from_env({"REFERRALS_FHIR_IDENTIFIER_BASE": "northside agency"})


def _resulting(value: dict[str, Any]) -> dict[str, Any]:
    return {"type": {"coding": [{"system": SDOH, "code": "resulting-activity"}]}, **value}


#: What the housing charity did, in the IG's two shapes of a resulting activity (STU 2.2:
#: PerformedActivityCode, a procedure code; PerformedActivityReference, its own Procedure).
DONE_CODE = {
    "valueCodeableConcept": {
        "coding": [{"system": SNOMED, "code": "410606002", "display": "Social service procedure"}],
        "text": "Tenancy sustainment support",
    }
}
DONE_PROCEDURE = {
    "valueReference": {
        "reference": "https://fhir.housing.example/Procedure/p-77",
        "display": "Tenancy signed",
    }
}


def test_a_task_completed_with_the_igs_resulting_activities_keeps_them(
    referrals: ReferralsApi, housing: Partner
) -> None:
    referral_id = referrals.referral(referrals.client())
    task = f"/fhir/Task/{referral_id}"
    accept = [{"op": "replace", "path": "/status", "value": "accepted"}]
    _read(housing, task, Task, method="PATCH", body=accept, **PATCH)
    complete = [
        {"op": "replace", "path": "/status", "value": "completed"},
        {"op": "add", "path": "/output", "value": [_resulting(DONE_CODE)]},
        {"op": "add", "path": "/output/-", "value": _resulting(DONE_PROCEDURE)},
    ]
    done = _read(housing, task, Task, method="PATCH", body=complete, **PATCH)
    assert done.status == "completed"
    sent = [_resulting(DONE_CODE), _resulting(DONE_PROCEDURE)]
    returned = housing.request("GET", task).json["output"]
    assert [{**o, "type": {"coding": o["type"]["coding"]}} for o in returned] == [
        {**o, "type": {"coding": [{**o["type"]["coding"][0], "display": "Resulting Activity"}]}}
        for o in sent
    ]  # as sent, the IG's type with its display, and no outcome in words of our own added
    assert len(done.output) == 2
    # the partner API and the completed event read the activities in words
    view = housing.request("GET", f"/partner/referrals/{referral_id}").json
    assert view["outcome"] == "Tenancy sustainment support; Tenancy signed"
    unchanged = _read(
        housing,
        task,
        Task,
        method="PUT",
        body=housing.request("GET", task).json,
        **{"Content-Type": FHIR_JSON},
    )
    assert unchanged == done  # the Task sent back as it is: nothing to move, nothing refused
    changed = [{"op": "remove", "path": "/output/1"}]
    refused = _read(housing, task, OperationOutcome, 422, method="PATCH", body=changed, **PATCH)
    assert "only a move of status" in refused.issue[0].diagnostics


def test_a_task_completed_by_put_with_a_procedure_reference_and_own_words(
    referrals: ReferralsApi, housing: Partner
) -> None:
    referral_id = referrals.referral(referrals.client())
    referrals.partner_move(referral_id, "accepted")
    whole = {**housing.request("GET", f"/fhir/Task/{referral_id}").json, "status": "completed"}
    logical = {"valueReference": {"type": "Procedure", "identifier": {"value": "p-78"}}}
    words = {"type": {"coding": [{"system": OUTPUTS, "code": "outcome"}]}, "valueString": "Moved"}
    whole["output"] = [_resulting(logical), words]
    done = _read(
        housing,
        f"/fhir/Task/{referral_id}",
        Task,
        method="PUT",
        body=whole,
        **{"Content-Type": FHIR_JSON},
    )
    assert done.output[0].valueReference.identifier.value == "p-78"
    assert done.output[0].valueReference.type == "Procedure"
    assert done.output[1].valueString == "Moved"  # the partner's own words, kept as well
    view = housing.request("GET", f"/partner/referrals/{referral_id}").json
    assert view["outcome"] == "Moved"


@pytest.mark.parametrize(
    ("output", "named"),
    [
        (_resulting({"valueCodeableConcept": {"text": "Helped"}}), "US Core Procedure Codes"),
        (_resulting({"valueReference": {"reference": "Observation/o-1"}}), "Procedure"),
        (_resulting({"valueReference": {"display": "Something"}}), "Procedure"),
        (
            _resulting({"valueReference": {"reference": "Procedure/p", "type": "Observation"}}),
            "Procedure",
        ),
        (_resulting({"valueBoolean": True}), "valueCodeableConcept"),
        ({"type": {"text": "Receipt"}, "valueString": "x"}, "resulting-activity"),
        (_resulting({"valueString": "x" * 2_001}), "2000 characters"),
    ],
    ids=[
        "code-without-coding",
        "reference-to-observation",
        "reference-to-nothing",
        "reference-types-disagree",
        "boolean",
        "unknown-output-type",
        "outcome-too-long",
    ],
)
def test_an_output_outside_the_igs_shapes_is_an_operation_outcome(
    referrals: ReferralsApi, housing: Partner, output: dict[str, Any], named: str
) -> None:
    referral_id = referrals.referral(referrals.client())
    referrals.partner_move(referral_id, "accepted")
    complete = [
        {"op": "replace", "path": "/status", "value": "completed"},
        {"op": "add", "path": "/output", "value": [output]},
    ]
    refused = _read(
        housing,
        f"/fhir/Task/{referral_id}",
        OperationOutcome,
        422,
        method="PATCH",
        body=complete,
        **PATCH,
    )
    assert refused.issue[0].code == "invalid" and named in refused.issue[0].diagnostics
    assert _read(housing, f"/fhir/Task/{referral_id}", Task).status == "accepted"


GUIDE = Path(__file__).resolve().parents[2] / "docs" / "partners.md"


def test_the_guides_completion_patch_is_what_the_fhir_api_takes_and_returns(
    referrals: ReferralsApi, housing: Partner
) -> None:
    """The guide's JSON Patch, run as written: the resulting activities come back as sent."""
    [example] = re.findall(r"```\n(PATCH /fhir/Task/\{id\}\n.*?)```", GUIDE.read_text(), re.DOTALL)
    patch = json.loads(example.split("\n\n", 1)[1])
    referral_id = referrals.referral(referrals.client())
    referrals.partner_move(referral_id, "accepted")
    done = _read(housing, f"/fhir/Task/{referral_id}", Task, method="PATCH", body=patch, **PATCH)
    assert done.status == "completed"
    returned = [json.loads(o.model_dump_json(exclude_none=True)) for o in done.output]
    for output, sent in zip(returned, patch[1]["value"], strict=True):
        assert {k: v for k, v in output.items() if k != "type"} == {
            k: v for k, v in sent.items() if k != "type"
        }
        assert output["type"]["coding"][0]["code"] == "resulting-activity"


@pytest.mark.parametrize(
    ("service", "domain", "coded"),
    [
        ("tenancy", "housing", True),
        ("tenancy", "income", True),
        ("cbt", "mental_state", False),  # a clinical need: the general referral to a service
        ("tenancy", None, False),
    ],
)
def test_a_service_request_is_always_coded_and_keeps_its_words(
    referrals: ReferralsApi,
    housing: Partner,
    therapy: Partner,
    service: str,
    domain: str | None,
    coded: bool,
) -> None:
    client = referrals.client(consent_to=None)
    referrals.consent(client, HOUSING if service == "tenancy" else THERAPY, ["contact_details"])
    created = referrals.call(
        "POST",
        "/referrals",
        json_body={"client_id": client, "service_id": service, "domain": domain},
    )
    assert created.status_code == 201, created.json
    assert referrals.call("POST", f"/referrals/{created.json['id']}/send").status_code == 200
    partner = housing if service == "tenancy" else therapy
    request = _read(partner, f"/fhir/ServiceRequest/{created.json['id']}", ServiceRequest)
    assert request.code.text == f"Referral to {service}"
    if coded:  # the IG's SNOMED CT code for a social service, as its examples have it
        [coding] = request.code.coding
        assert (coding.system, coding.code) == (SNOMED, "410606002")
        assert coding.display == "Social service procedure"
    else:  # FHIR's own mental-health referral example codes it so
        [coding] = request.code.coding
        assert (coding.system, coding.code) == (SNOMED, "306206005")
        assert coding.display == "Referral to service"


def test_references_are_typed_as_the_igs_profiles_name_them_and_say_no_more(
    referrals: ReferralsApi, housing: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Task.for and ServiceRequest.subject are Patients, the requester an Organization (STU
    2.2: 1..1, a US Core Organization or PractitionerRole): typed logical references, the
    client still by the agency's reference alone."""
    monkeypatch.setenv("REFERRALS_FHIR_IDENTIFIER_BASE", "https://fhir.northside.example.org")
    monkeypatch.setenv("CASEHUB_AGENCY_NAME", "Northside Community Mental Health")
    referrals.runtime.service_settings = ReferralsSettings.from_env()
    referral_id = referrals.referral(referrals.client())
    task = housing.request("GET", f"/fhir/Task/{referral_id}").json
    request = housing.request("GET", f"/fhir/ServiceRequest/{referral_id}").json
    clients = "https://fhir.northside.example.org/NamingSystem/client-reference"
    client = {
        "type": "Patient",
        "identifier": {"system": clients, "value": "C-1042"},
        "display": "Client C-1042",
    }
    assert task["for"] == client and request["subject"] == client  # nothing more than before
    agency = {
        "type": "Organization",
        "identifier": {
            "system": "urn:ietf:rfc:3986",
            "value": "https://fhir.northside.example.org",
        },
        "display": "Northside Community Mental Health",
    }
    assert task["requester"] == agency and request["requester"] == agency
    owner = {"reference": f"Organization/{HOUSING}", "type": "Organization"}
    assert task["owner"] == owner and request["performer"][0] == owner
    assert request["performer"][1] == {
        "reference": "HealthcareService/tenancy",
        "type": "HealthcareService",
    }
    assert task["focus"] == {"reference": f"ServiceRequest/{referral_id}", "type": "ServiceRequest"}
    for resource, model in ((task, Task), (request, ServiceRequest)):
        model.model_validate(resource)


def test_a_service_request_names_the_consent_it_was_shared_under(
    referrals: ReferralsApi, housing: Partner
) -> None:
    """The IG's supportingInfo (Must Support, a Consent): the client's consent to share with
    this partner that was in force when the referral was sent, by the agency's identifier."""
    client = referrals.client(consent_to=None)
    consent_id = referrals.consent(client, HOUSING, ["contact_details"])
    referral_id = referrals.referral(client)
    request = housing.request("GET", f"/fhir/ServiceRequest/{referral_id}").json
    assert request["supportingInfo"] == [
        {
            "type": "Consent",
            "identifier": {
                "system": "http://localhost/fhir/NamingSystem/consent",
                "value": consent_id,
            },
            "display": "The client's consent to share with you",
        }
    ]
    ServiceRequest.model_validate(request)
    elsewhere = referrals.consent(client, THERAPY, ["contact_details"])  # not this partner's
    later = referrals.referral(client)
    assert [i["identifier"]["value"] for i in _read_json(housing, later)] == [consent_id]
    assert elsewhere != consent_id


def _read_json(partner: Partner, referral_id: str) -> list[dict[str, Any]]:
    request = partner.request("GET", f"/fhir/ServiceRequest/{referral_id}").json
    return list(request["supportingInfo"])
