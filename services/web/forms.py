"""The web app's forms as refusals see them: for each API field a form sends, the input it was
typed in, the element a summary line links to, and how a message names it. A form on a page
that repeats it (a goal's strategy form) is made for that goal, its ids and key its own."""

from __future__ import annotations

from services.web.refusals import Field, Form
from services.web.screens import SAFETY_PLAN_SECTIONS

DAP = ("data", "assessment", "plan")


def _form(key: str, *fields: tuple[str, Field], whole_form: str | None = None) -> Form:
    return Form(key, dict(fields), whole_form=whole_form)


def _f(api: str, element: str, label: str, kind: str = "text", name: str = "") -> tuple[str, Field]:
    return api, Field(name or api, element, label, kind)


APPOINTMENT = _form(
    "appointment",
    _f("starts_at", "appt-start", "the start time", "moment"),
    _f("duration_minutes", "appt-duration", "the duration in minutes", "number"),
    _f("location", "appt-location", "a place or a video link"),
    _f("video_link", "appt-video", "the video link", "url"),
    _f("with_whom", "appt-with", "who else takes part", "list"),
    whole_form="location",
)

CONTACT = _form(
    "contact",
    _f("contact_type", "contact-mode", "the mode of contact", "choice"),
    _f("occurred_at", "contact-when", "when it happened", "moment"),
    _f("duration_minutes", "contact-duration", "the duration in minutes", "number"),
    _f("location", "contact-location", "where it happened"),
    _f("purpose", "contact-purpose", "the purpose"),
    _f("participants", "contact-participants", "who took part", "choice"),
    _f("note", "contact-note", "the note", name="note"),
    _f("note.data", "note-data", "the data section of the note", name="note_data"),
    _f("note.assessment", "note-assessment", "the assessment section", name="note_assessment"),
    _f("note.plan", "note-plan", "the plan section of the note", name="note_plan"),
    _f("goal_ids", "contact-goals", "the goals worked on", "choice"),
    _f("sign", "contact-sign", "signing", "tick"),
)

REGISTRATION = _form(
    "registration",
    _f("given_name", "given", "the given name"),
    _f("family_name", "family", "the family name"),
    _f("date_of_birth", "dob", "the date of birth", "date"),
    _f("preferred_language", "language", "the preferred language"),
    _f("contact.phone", "phone", "the phone number", name="phone"),
    _f("contact.email", "email", "the e-mail address", "email", name="email"),
    _f("advance_statement", "advance", "the advance statement"),
    _f("nominated_persons.name", "nom-name", "the nominated person's name", name="nominated_name"),
    _f(
        "nominated_persons.relationship_to_client",
        "nom-rel",
        "the nominated person's relationship",
        "choice",
        name="nominated_relationship",
    ),
    _f(
        "nominated_persons.phone",
        "nom-phone",
        "the nominated person's phone",
        name="nominated_phone",
    ),
    _f(
        "nominated_persons.may_be_told",
        "nom-told",
        "what the nominated person may be told",
        "choice",
        name="nominated_may_be_told",
    ),
    _f("nominated_persons", "nom-name", "the nominated person", name="nominated_name"),
)

#: The assessment: a scale's or a domain's refusal beside its first question.
ASSESSMENT = _form(
    "assessment",
    _f("domains", "q-domains", "the life domains", "choice"),
    _f("phq9", "q-phq9", "the PHQ-9", "choice"),
    _f("gad7", "q-gad7", "the GAD-7", "choice"),
    _f("cssrs", "cssrs", "the C-SSRS screener", "choice"),
)

DISCHARGE = _form(
    "discharge",
    _f("reason_code", "discharge-code", "the reason for the discharge", "choice"),
    _f("reason", "discharge-reason", "why, in a sentence"),
    _f("services_received", "discharge-services", "the services received", "list"),
    _f("follow_up", "discharge-follow-up", "the follow-up"),
    _f("told", "discharge-told", "who was told", "list"),
)

PREFERENCES = _form(
    "preferences",
    _f("email", "pref-email", "your e-mail address", "email"),
    _f("channels", "pref-channels", "how notifications reach you", "choice"),
    _f("time_zone", "pref-zone", "your time zone"),
    _f("quiet_start", "pref-quiet-start", "when quiet hours start", "time"),
    _f("quiet_end", "pref-quiet-end", "when quiet hours end", "time"),
    _f("daily_digest_at", "pref-digest", "the time of the daily digest", "time"),
)

# --- the plan page ------------------------------------------------------------------------------

NEW_GOAL = _form(
    "goal",
    _f("domain", "goal-domain", "the life domain", "choice"),
    _f("in_own_words", "goal-words", "the goal in the client's words"),
    _f("measurable_target", "goal-target", "the measurable target"),
    _f("target_date", "goal-date", "the target date", "date"),
)

APPROVAL = _form(
    "approval",
    _f("client_agreed", "agree-client", "that the client agrees", "tick"),
    _f("method", "agree-method", "how the client agreed", "choice"),
    _f("present", "agree-present", "who was present", "list"),
    _f("notes", "agree-notes", "the notes"),
)

SAFETY_PLAN = _form(
    "safety-plan",
    *(
        _f(section, f"sp-{section}", f"the {section.replace('_', ' ')}", "list")
        for section in SAFETY_PLAN_SECTIONS
    ),
)


def goal_form(goal_id: str) -> Form:
    """A goal's own form (its words, target and status)."""
    return _form(
        f"goal-{goal_id}",
        _f("in_own_words", f"words-{goal_id}", "the goal in the client's words"),
        _f("measurable_target", f"target-{goal_id}", "the measurable target"),
        _f("status", f"status-{goal_id}", "the goal's status", "choice"),
        _f("target_date", f"target-{goal_id}", "the target date", "date"),
    )


def strategy_form(goal_id: str) -> Form:
    return _form(
        f"strategy-{goal_id}",
        _f("description", f"what-{goal_id}", "what the strategy is"),
        _f("responsible", f"who-{goal_id}", "who does it", "choice"),
        _f("due_by", f"by-{goal_id}", "by when", "date"),
        _f("partner_service_id", f"svc-{goal_id}", "the partner service"),
        _f("type", f"svc-{goal_id}", "the partner service", name="partner_service_id"),
    )


def progress_form(goal_id: str) -> Form:
    return _form(
        f"progress-{goal_id}",
        _f("note", f"note-{goal_id}", "the progress note"),
        _f("attainment", f"att-{goal_id}", "the attainment", "choice"),
    )


# --- the client record --------------------------------------------------------------------------

CONSENT = _form(
    "consent",
    _f("organization_id", "consent-org", "the partner organisation"),
    _f("categories", "consent-categories", "what may be shared", "choice"),
    _f("starts_on", "consent-start", "the date it starts", "date"),
    _f("expires_on", "consent-end", "the date it ends", "date"),
)

ASSIGNMENT = _form(
    "assignment",
    _f("case_manager_id", "assign-cm", "the case manager", "choice"),
    _f("team", "assign-team", "the team"),
    _f("override_reason", "assign-reason", "the over-cap reason"),
)

REMINDERS = _form(
    "reminders",
    _f("channel", "reminder-channel", "how the client wants reminders", "choice"),
    _f("address", "reminder-address", "the e-mail address or mobile number"),
    whole_form="address",
)


def revoke_form(consent_id: str) -> Form:
    return _form(
        f"revoke-{consent_id}", _f("reason", f"revoke-{consent_id}", "why the client withdrew")
    )


def resolve_form(flag_id: str) -> Form:
    return _form(f"resolve-{flag_id}", _f("note", f"resolve-{flag_id}", "the resolution note"))


def referral_form(service_id: str) -> Form:
    """A draft referral to one service of the directory (each row has its own form)."""
    return _form(
        f"referral-{service_id}",
        _f("packet", f"summary-{service_id}", "what is shared", name="assessment_summary"),
        _f(
            "packet.assessment_summary",
            f"summary-{service_id}",
            "the assessment summary",
            name="assessment_summary",
        ),
        _f(
            "packet.contact_details",
            f"contact-{service_id}",
            "the contact details",
            name="contact_details",
        ),
    )


# --- an appointment and a contact ---------------------------------------------------------------

RESCHEDULE = _form(
    "reschedule",
    _f("starts_at", "move-start", "the new time", "moment"),
    _f("reason", "move-reason", "why it moves"),
    _f("location", "move-start", "a place or a video link"),
    whole_form="starts_at",
)

ATTEND = _form(
    "attend",
    _f("contact_type", "attend-mode", "the mode of contact", "choice"),
    _f("note", "attend-note", "the note", name="note"),
    _f("note.data", "attend-data", "the data section of the note", name="note_data"),
    _f("note.assessment", "attend-assessment", "the assessment section", name="note_assessment"),
    _f("note.plan", "attend-plan", "the plan section of the note", name="note_plan"),
)


def outcome_form(status: str) -> Form:
    """Cancelling or recording a no-show (each has its own form on the appointment page)."""
    return _form(
        f"outcome-{status}",
        _f("reason", f"reason-{status}", "the reason"),
        _f("status", f"reason-{status}", "the outcome", "choice", name="reason"),
    )


DRAFT_NOTE = _form(
    "draft-note",
    _f("purpose", "edit-purpose", "the purpose"),
    _f("note", "edit-note", "the note", name="note"),
    _f("note.data", "edit-data", "the data section of the note", name="note_data"),
    _f("note.assessment", "edit-assessment", "the assessment section", name="note_assessment"),
    _f("note.plan", "edit-plan", "the plan section of the note", name="note_plan"),
)

#: Signing a draft: what it lacks is said beside the draft's own fields.
SIGN_NOTE = _form(
    "sign-note",
    _f("note", "edit-note", "the note", name="note"),
    *((f"note.{s}", Field(f"note_{s}", f"edit-{s}", f"the {s} section")) for s in DAP),
)

ADDENDUM = _form("addendum", _f("text", "addendum-text", "the addendum"))
