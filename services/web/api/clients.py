"""Finding a client, the client record, consent, assignment, risk flags, assessments, intake."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import redirect, request, url_for

from services.web import assessment_form, forms, screens
from services.web.api.common import (
    CASEWORK,
    EDITORS,
    STAFF,
    attempt,
    caller,
    flash,
    note_outage,
    page,
    pages,
    refused_status,
    roles,
    safe_next,
    signed_in,
    value_or,
)
from services.web.api.discharged import discharge_facts, former_record
from services.web.backend import ApiError, Caller
from services.web.refusals import Field, Form, Refusal, refusal, refused
from shared.clock import agency_today

#: How a client may be reminded of appointments, as intake takes them, and as the form says them.
REMINDER_CHANNELS: tuple[tuple[str, str], ...] = (
    ("email", "E-mail"),
    ("sms", "Text message (SMS)"),
)


@pages.get("/clients/<client_id>")
@signed_in(*STAFF)
@page
def client_record(client_id: str) -> Any:
    """The record; to a case manager or supervisor intake no longer shows it (the client was
    discharged), what they still read for the hand-over period, or a page saying why not."""
    person = caller()
    try:
        return "client.html", record_values(person, client_id)
    except ApiError as error:
        if error.status == 404 and roles() & set(EDITORS):
            return former_record(person, client_id)
        raise


def record_values(person: Caller, client_id: str, **shown: Any) -> dict[str, Any]:
    """What the client record shows; ``shown`` adds what a refused form brings back."""
    casework = bool(roles() & set(CASEWORK))
    calls: dict[str, Callable[[], Any]] = {
        "record": lambda: person.get("intake", f"/clients/{client_id}/record", limit=200),
    }
    if casework:
        calls["casework"] = lambda: person.get(
            "planning", f"/clients/{client_id}/casework", limit=200
        )
        calls["referrals"] = lambda: person.items("referrals", "/referrals", client_id=client_id)
    if "supervisor" in roles() or "intake_worker" in roles() or "admin" in roles():
        calls["managers"] = lambda: person.items("intake", "/case-managers")
    results = person.backend.gather(calls)
    if isinstance(results["record"], ApiError):
        raise results["record"]
    record = results["record"]
    client = record["client"]
    assessments, flags, consents = (
        value_or(_whole_list(person, client_id, record, name), [])
        for name in ("assessments", "risk_flags", "consents")
    )
    plans, contacts, appointments, handover = _casework(person, client_id, results.get("casework"))
    referrals = value_or(results.get("referrals"), [])
    points = screens.score_history(assessments)
    open_flags = [flag for flag in flags if flag["status"] == "open"]
    active_plan = screens.latest([p for p in plans if p["status"] != "closed"], "created_at")
    return {
        "client": client,
        "age": screens.age_on(
            screens.parse_day(client["date_of_birth"]) or date.today(), agency_today()
        ),
        "consents": consents,
        "consent_summary": screens.consent_summary(consents),
        "assessments": assessments,
        "points": points,
        "chart": screens.chart(points),
        "open_flags": open_flags,
        "plans": plans,
        "active_plan": active_plan,
        "referrals": referrals,
        "casework": casework,
        "contacts": contacts,
        "appointments": appointments,
        "timeline": screens.timeline(assessments=assessments, plans=plans, referrals=referrals),
        "discharge": discharge_facts(client),
        # the discharged episode still read in planning: its summary can be opened
        "handover": handover or "admin" in roles(),
        "managers": value_or(results.get("managers"), []),
        "categories": screens.CONSENT_CATEGORIES,
        "today": agency_today(),
        "reminders": record["reminder_consent"],
        "reminder_channels": REMINDER_CHANNELS,
        "refusal": None,
        **shown,
    }


def _whole_list(
    person: Caller, client_id: str, record: dict[str, Any], name: str, service: str = "intake"
) -> Any:
    """Every item of one of the record's lists (its first page came with the record; the rest is
    at the list's own endpoint, ``risk_flags`` at ``…/risk-flags``); an ApiError when a later
    page could not be read."""
    path = f"/clients/{client_id}/{name.replace('_', '-')}"
    return attempt(lambda: person.rest(service, path, record[name]))


def _casework(person: Caller, client_id: str, found: Any) -> tuple[Any, ...]:
    """Plans, contacts and appointments from planning's casework answer (empty when it refused,
    or a list the caller may not read), and whether the caller reads the episodes' casework."""
    if found is None or isinstance(found, ApiError):
        if found is not None:
            note_outage(found)
        return [], [], [], False
    plans = value_or(
        attempt(lambda: person.rest("planning", "/plans", found["plans"], client_id=client_id)),
        [],
    )
    lists = (
        []
        if found[name] is None
        else value_or(_whole_list(person, client_id, found, name, "planning"), [])
        for name in ("contacts", "appointments")
    )
    return (plans, *lists, found["contacts"] is not None)


def _then_back_to_record(client_id: str, section: str, action: Callable[[], str]) -> Any:
    """Do ``action`` on the record (it returns what to tell the person), or say why it was
    refused in plain words, then back to that section of the record (a button alone)."""
    try:
        flash(action())
    except ApiError as error:
        flash(error.plain_words, "error")
    return redirect(url_for("pages.client_record", client_id=client_id) + f"#{section}")


def _record_change(client_id: str, section: str, form: Form, action: Callable[[], str]) -> Any:
    """Do ``action`` (it returns what to tell the person) and go back to that section of the
    record; refused, the record again with the refusal beside the form's fields and everything
    typed in them kept."""
    person = caller()
    try:
        flash(action())
    except ApiError as error:
        shown = refusal(error, form, request.form)
        return "client.html", record_values(person, client_id, refusal=shown), refused_status(error)
    return redirect(url_for("pages.client_record", client_id=client_id, _anchor=section or None))


@pages.post("/clients/<client_id>/consents")
@signed_in(*STAFF)
@page
def grant_consent(client_id: str) -> Any:
    body = {
        "organization_id": request.form.get("organization_id", "").strip(),
        "categories": request.form.getlist("categories"),
        "starts_on": request.form.get("starts_on") or agency_today().isoformat(),
        "expires_on": request.form.get("expires_on") or None,
    }

    def grant() -> str:
        caller().send("intake", "POST", f"/clients/{client_id}/consents", body)
        return f"Consent to share with {body['organization_id']} recorded."

    return _record_change(client_id, "consents", forms.CONSENT, grant)


@pages.post("/clients/<client_id>/consents/<consent_id>/revoke")
@signed_in(*STAFF)
@page
def revoke_consent(client_id: str, consent_id: str) -> Any:
    """The client withdrew a consent to share: partners stop receiving their data from now."""

    def revoke() -> str:
        revoked = caller().send(
            "intake",
            "POST",
            f"/clients/{client_id}/consents/{consent_id}/revoke",
            {"reason": request.form.get("reason", "").strip()},
        )
        return f"Consent to share with {revoked['organization_id']} withdrawn: sharing has stopped."

    return _record_change(client_id, "consents", forms.revoke_form(consent_id), revoke)


@pages.post("/clients/<client_id>/readmit")
@signed_in("intake_worker", "supervisor", "admin")
def readmit(client_id: str) -> Any:
    """A discharged client comes back: a new episode, assigned next from the same record."""

    def open_episode() -> str:
        caller().send("intake", "POST", f"/clients/{client_id}/readmit")
        return "Re-admitted: a new episode is open. Assign a case manager below."

    return _then_back_to_record(client_id, "assignment", open_episode)


@pages.post("/clients/<client_id>/assignment")
@signed_in("intake_worker", "supervisor", "admin")
@page
def assign(client_id: str) -> Any:
    """Assigned; refused, the record again with why beside the form (from another page, such as
    the team page, the refusal is said there instead)."""
    body = {
        "case_manager_id": request.form.get("case_manager_id") or None,
        "team": request.form.get("team") or None,
        "override_reason": request.form.get("override_reason") or None,
    }
    back = safe_next(request.form.get("back")) if request.form.get("back") else None

    def assign_now() -> str:
        result = caller().send("intake", "POST", f"/clients/{client_id}/assignment", body)
        note = " (over the cap: reason recorded)" if result.get("over_cap") else ""
        return f"Assigned to {result['case_manager_id']}{note}."

    if back:
        try:
            flash(assign_now())
        except ApiError as error:
            flash(error.plain_words, "error")
        return redirect(back)
    return _record_change(client_id, "assignment", forms.ASSIGNMENT, assign_now)


@pages.post("/clients/<client_id>/risk-flags/<flag_id>/resolve")
@signed_in(*CASEWORK)
@page
def resolve_flag(client_id: str, flag_id: str) -> Any:
    def resolve() -> str:
        caller().send(
            "intake",
            "POST",
            f"/clients/{client_id}/risk-flags/{flag_id}/resolve",
            {"note": request.form.get("note", "").strip()},
        )
        return "Risk flag resolved."

    return _record_change(client_id, "", forms.resolve_form(flag_id), resolve)


def _assessment_form_values() -> dict[str, Any]:
    return {
        "domains": screens.LIFE_DOMAINS,
        "ratings": screens.NEED_RATINGS,
        "phq9": assessment_form.PHQ9_ITEMS,
        "gad7": assessment_form.GAD7_ITEMS,
        "frequency": assessment_form.FREQUENCY,
        "cssrs": assessment_form.CSSRS_QUESTIONS,
        "after_q2": assessment_form.CSSRS_AFTER_Q2,
        # A new key each time the form is shown: the same form posted again (a reload of the
        # result, a double click) is answered from the first, never a second assessment and
        # crisis alert; a form shown again after a refusal is a new attempt.
        "idempotency_key": str(uuid.uuid4()),
    }


@pages.get("/clients/<client_id>/assessments/new")
@signed_in(*STAFF)
@page
def new_assessment(client_id: str) -> Any:
    client = caller().get("intake", f"/clients/{client_id}")
    return "assessment_form.html", {"client": client, "form": {}, **_assessment_form_values()}


@pages.post("/clients/<client_id>/assessments")
@signed_in(*STAFF)
@page
def record_assessment(client_id: str) -> Any:
    person = caller()
    client = person.get("intake", f"/clients/{client_id}")

    def form_again(shown: Refusal, status: int) -> Any:
        values = {"client": client, "form": request.form, "refusal": shown}
        return "assessment_form.html", {**values, **_assessment_form_values()}, status

    gaps = assessment_form.unanswered(request.form)
    if gaps:
        shown = Refusal("assessment", typed=request.form)
        for name, words in gaps:
            shown.add(
                Field(name, f"q-{name}", words),
                f"Answer {words}: a scale you start needs every answer, or none.",
            )
        return form_again(shown, 422)
    try:
        result = person.send(
            "intake",
            "POST",
            f"/clients/{client_id}/assessments",
            assessment_form.assessment_body(request.form),
            idempotency_key=request.form.get("idempotency_key") or None,
        )
    except ApiError as error:
        return form_again(refusal(error, forms.ASSESSMENT, request.form), refused_status(error))
    return "assessment_result.html", {"client": client, "assessment": result}


@pages.get("/intake")
@signed_in("intake_worker", "supervisor", "admin")
@page
def intake() -> Any:
    return "intake.html", {"form": {}, "duplicate": None, "error": None}


#: The nominated person's fields besides the name: typed without a name, they would be lost.
NOMINATED_DETAILS = ("nominated_phone", "nominated_may_be_told")


def registration_body(form: Any) -> dict[str, Any]:
    """The client as intake takes them; a nominated person only with a name (the form checks
    that details typed without one are not dropped)."""
    body: dict[str, Any] = {
        "given_name": form.get("given_name", "").strip(),
        "family_name": form.get("family_name", "").strip(),
        "date_of_birth": form.get("date_of_birth", ""),
        "preferred_language": form.get("preferred_language") or None,
        "contact": {"phone": form.get("phone") or None, "email": form.get("email") or None},
        "advance_statement": form.get("advance_statement") or None,
        "confirmed_not_duplicate": form.get("confirmed_not_duplicate") == "yes",
    }
    if form.get("nominated_name", "").strip():
        body["nominated_persons"] = [
            {
                "name": form["nominated_name"].strip(),
                "relationship_to_client": form.get("nominated_relationship") or "family",
                "phone": form.get("nominated_phone") or None,
                "may_be_told": form.getlist("nominated_may_be_told"),
            }
        ]
    return body


@pages.post("/intake/clients")
@signed_in("intake_worker", "supervisor", "admin")
@page
def register_client() -> Any:
    """Registered, or the form again with everything typed (the nominated person's too): a
    possible duplicate is asked about, anything else refused is said beside its field."""
    form = request.form
    if not form.get("nominated_name", "").strip() and any(
        form.get(name, "").strip() for name in NOMINATED_DETAILS
    ):
        shown = refused(forms.REGISTRATION, form, nominated_name=NAMELESS)
        return "intake.html", {"form": form, "duplicate": None, "refusal": shown}, 422
    try:
        client = caller().send("intake", "POST", "/clients", registration_body(form))
    except ApiError as error:
        duplicate = error.status == 409 and bool(error.body.get("existing_client_ids"))
        if duplicate:
            found = error.body.get("existing_client_ids")
            return "intake.html", {"form": form, "duplicate": found, "error": error.detail}, 409
        shown = refusal(error, forms.REGISTRATION, form)
        values = {"form": form, "duplicate": None, "refusal": shown}
        return "intake.html", values, refused_status(error)
    flash(f"Registered {client['given_name']} {client['family_name']} as {client['reference']}.")
    return redirect(url_for("pages.client_record", client_id=client["id"]))


NAMELESS = (
    "Enter the nominated person's name, or clear their phone and what they may be told: "
    "details without a name cannot be kept."
)
