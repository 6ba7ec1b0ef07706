"""How refusals read on a page, without a server: a field's own message goes beside that field
(a whole-body rule beside the field it is about, anything else at the top of the form), and an
approval refused for open suggested changes names each one."""

from __future__ import annotations

from services.web.backend import ApiError
from services.web.refusals import field_errors
from services.web.suggestions import still_to_decide, suggestion_rows


def _invalid(errors: dict) -> ApiError:  # type: ignore[type-arg]
    return ApiError(422, "Invalid request.", body={"errors": {"json": errors}})


def test_each_field_gets_its_own_message_and_the_rest_goes_to_the_form() -> None:
    error = _invalid(
        {
            "channel": ["Must be one of: email, sms."],
            "_schema": ["Give the number in E.164 form, e.g. +15550142."],
            "colour": {"0": ["Unknown field."]},
        }
    )
    shown = field_errors(error, ("channel", "address"), whole_form="address")
    assert shown == {
        "channel": "Must be one of: email, sms.",
        "address": "Give the number in E.164 form, e.g. +15550142.",
        "": "Unknown field.",
    }


def test_a_refusal_naming_no_field_is_the_forms_own_message() -> None:
    outage = ApiError(503, "The intake service did not answer (ConnectError).")
    assert list(field_errors(outage, ("address",))) == [""]
    assert "retry" in field_errors(outage, ("address",))[""]
    assert field_errors(ApiError(409, "Already decided."), ("reason",)) == {"": "Already decided."}


def test_an_approval_refused_for_open_suggestions_names_them() -> None:
    refused = ApiError(
        409,
        "Decide every suggested change before approving the review.",
        body={
            "open_suggestions": [
                {"id": "1", "domain": "income"},
                {"id": "2", "domain": "work_and_education"},
            ]
        },
    )
    assert still_to_decide(refused) == (
        "Decide every suggested change before approving the review. "
        "Still to decide: Income, Work and education."
    )
    assert still_to_decide(ApiError(409, "The plan cannot be approved yet: no goals")) is None


def test_a_suggestion_shows_the_reassessment_it_came_from() -> None:
    suggestion = {"id": "s1", "assessment_id": "a2", "domain": "income", "status": "open"}
    assessments = [
        {
            "id": "a2",
            "completed_at": "2026-11-20T10:00:00Z",
            "assessed_by": "cm-ana",
            "domains": {"income": {"rating": "unmet_need", "notes": "Benefits stopped"}},
        }
    ]
    [row] = suggestion_rows([suggestion], assessments)
    assert (row["assessed_at"], row["assessed_by"], row["need_note"]) == (
        "2026-11-20T10:00:00Z",
        "cm-ana",
        "Benefits stopped",
    )
    [unknown] = suggestion_rows([suggestion], [])  # the assessment could not be read
    assert unknown["assessed_at"] is None and unknown["domain"] == "income"
