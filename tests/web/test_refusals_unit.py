"""How refusals read on a page, without a server: a field's own message goes beside that field
in plain words (a whole-body rule beside the field it is about, anything else in the summary at
the top), said once; and an approval refused for open suggested changes names each one."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from services.web import forms
from services.web.backend import ApiError
from services.web.refusals import refusal
from services.web.suggestions import still_to_decide, suggestion_rows


def _invalid(errors: dict) -> ApiError:  # type: ignore[type-arg]
    return ApiError(422, "Invalid request.", body={"errors": {"json": errors}})


def test_each_field_gets_its_own_message_and_the_rest_goes_to_the_summary() -> None:
    error = _invalid(
        {
            "channel": ["Must be one of: email, sms."],
            "_schema": ["Give the number in E.164 form, e.g. +15550142."],
            "colour": {"0": ["Unknown field."]},
        }
    )
    shown = refusal(error, forms.REMINDERS)
    assert shown.errors == {
        "channel": "Choose how the client wants reminders from the list.",
        "address": "Give the number in E.164 form, e.g. +15550142.",
    }
    assert shown.summary() == [
        ("#reminder-channel", "Choose how the client wants reminders from the list."),
        ("#reminder-address", "Give the number in E.164 form, e.g. +15550142."),
        (None, "The service does not take the colour here."),
    ]


def test_a_refusal_naming_no_field_is_a_line_of_the_summary() -> None:
    outage = ApiError(503, "The intake service did not answer (ConnectError).")
    shown = refusal(outage, forms.REMINDERS)
    assert shown.errors == {} and "retry" in shown.summary()[0][1]
    assert refusal(ApiError(409, "Already decided."), forms.REMINDERS).summary() == [
        (None, "Already decided.")
    ]


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


def _validation(errors: dict) -> ApiError:  # type: ignore[type-arg]
    """A 422 as the services answer it: the detail repeats the errors in the API's terms."""
    return ApiError(
        422,
        "Invalid input: starts_at (json): Not a valid datetime.",
        body={"detail": "Invalid input: ...", "errors": {"json": errors}},
    )


def test_a_refusal_is_said_once_in_plain_words_beside_its_field() -> None:
    typed = MultiDict({"starts_at": "soon", "video_link": "http://meet.example.org"})
    error = _validation(
        {
            "starts_at": ["Not a valid datetime."],
            "video_link": ["Not a valid URL."],
            "duration_minutes": [
                "Must be greater than or equal to 1 and less than or equal to 1440."
            ],
            "with_whom": {"2": ["Longer than maximum length 200."]},
        }
    )
    shown = refusal(error, forms.APPOINTMENT, typed)
    assert shown.errors == {
        "starts_at": "Enter the start time as a date and time.",
        "video_link": "Enter the video link as a full web address starting with https://.",
        "duration_minutes": "The duration in minutes must be from 1 to 1440.",
        "with_whom": "Each line of who else takes part must be 200 characters or fewer.",
    }
    assert shown.summary()[:2] == [
        ("#appt-start", "Enter the start time as a date and time."),
        ("#appt-video", "Enter the video link as a full web address starting with https://."),
    ]
    assert shown.general == [] and shown.typed is typed
    assert shown.error_id("starts_at") == "appt-start-error"
    for message in shown.errors.values():  # nothing of the API's own terms is left
        assert "json" not in message and "_" not in message and "Not a valid" not in message


def test_a_whole_body_rule_and_a_nested_field_find_their_inputs() -> None:
    schema = _validation({"_schema": ["an appointment needs a place or a video link (or both)"]})
    assert refusal(schema, forms.APPOINTMENT).errors == {
        "location": "An appointment needs a place or a video link (or both)."
    }
    nested = _validation(
        {
            "contact": {"email": ["Not a valid email address."]},
            "nominated_persons": {"0": {"name": ["Shorter than minimum length 1."]}},
            "given_name": ["Missing data for required field."],
        }
    )
    shown = refusal(nested, forms.REGISTRATION, MultiDict())
    assert shown.errors == {
        "email": "Enter the e-mail address as an e-mail address, like name@example.org.",
        "nominated_name": "Enter the nominated person's name.",
        "given_name": "Enter the given name.",
    }
    assert ("#nom-name", "Enter the nominated person's name.") in shown.summary()


def test_a_service_fragment_gets_the_fields_label_and_no_api_names() -> None:
    error = _validation({"expires_on": ["must be after starts_on"]})
    assert refusal(error, forms.CONSENT).errors == {
        "expires_on": "The date it ends must be after the start date."
    }


def test_plain_words_of_a_validation_refusal_repeat_nothing() -> None:
    """A message flashed after a redirect (no form's labels at hand) says each problem once."""
    error = _validation({"starts_at": ["Not a valid datetime."]})
    assert error.plain_words == "Enter the start time as a date and time."
    conflict = ApiError(409, "The plan is not under review.")
    assert conflict.plain_words == "The plan is not under review."
    shown = refusal(conflict, forms.NEW_GOAL)
    assert shown.errors == {} and shown.summary() == [(None, "The plan is not under review.")]
