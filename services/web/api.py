"""The web app's pages: each route reads the form or query, calls the services' APIs with the
signed-in person's token (a page's calls at once) and renders a template. Rules live in
screens.py, sign-in in oidc.py, sessions in sessions.py."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for

from services.web import emergency, screens
from services.web.backend import ApiError, Caller
from services.web.context import DEMO_PEOPLE, WebContext
from services.web.oidc import SignInFailed, needs_refresh
from shared.clock import agency_today
from shared.web.auth import mint_token

pages = Blueprint("pages", __name__)
F = TypeVar("F", bound=Callable[..., Any])
STAFF = ("intake_worker", "case_manager", "supervisor", "admin")
CASEWORK = ("case_manager", "supervisor", "admin")
EDITORS = ("case_manager", "supervisor")


def web() -> WebContext:
    return current_app.extensions["casehub_web"]


def caller() -> Caller:
    return g.caller


def roles() -> set[str]:
    return set(g.web_session.data.get("roles") or [])


def flash(message: str, kind: str = "info") -> None:
    messages = list(g.web_session.data.get("flash") or [])
    messages.append({"text": message, "kind": kind})
    g.web_session.set("flash", messages)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: a sign-in never sends the person to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def signed_in(*allowed: str) -> Callable[[F], F]:
    """The page needs a signed-in person (else to the sign-in page, coming back here) holding
    one of ``allowed`` roles (else 403)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            session = g.web_session
            if not session.signed_in:
                return redirect(url_for("pages.sign_in", next=request.full_path.rstrip("?")))
            if not _fresh_tokens():
                return redirect(url_for("pages.sign_in", next=request.full_path.rstrip("?")))
            if allowed and not roles() & set(allowed):
                abort(403)
            g.caller = Caller(web().backend, session.data["access_token"], g.request_id)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _fresh_tokens() -> bool:
    """Refresh the access token shortly before it expires; False if the person must sign in."""
    session = g.web_session
    if not needs_refresh(session.data, time.time()):
        return True
    provider = web().provider
    if provider is None:
        _end_session()
        return False
    try:
        refreshed = provider.refresh(session.data)
    except SignInFailed as why:
        _end_session()
        flash(str(why), "error")
        return False
    for key, value in refreshed.as_session().items():
        session.set(key, value)
    return True


def _end_session() -> None:
    web().store.destroy(g.web_session)
    g.web_session = web().store.new(datetime.now(UTC))


def _start_session(values: dict[str, Any]) -> None:
    """Signed in: a new session id (fixation), the old one and its sign-in state gone."""
    old = g.web_session
    old.pop("oidc")
    fresh = web().store.rotate(old, datetime.now(UTC))
    for key, value in values.items():
        fresh.set(key, value)
    g.web_session = fresh


def home_for(person_roles: set[str]) -> str:
    if "case_manager" in person_roles:
        return url_for("pages.caseload")
    if person_roles & {"supervisor", "admin"}:
        return url_for("pages.team")
    if "intake_worker" in person_roles:
        return url_for("pages.intake")
    return url_for("pages.on_call")


def render(template: str, **values: Any) -> str:
    return render_template(template, urgent_alerts=g.get("urgent") or [], **values)


def _urgent_in(person: Caller) -> Callable[[], list[dict[str, Any]]]:
    person_roles = roles()

    def fetch() -> list[dict[str, Any]]:
        if not person_roles & set(STAFF):
            return []
        try:
            page = person.get("notifications", "/me/notifications", limit=50)
        except ApiError:
            return []
        return screens.urgent_alerts(page["items"])

    return fetch


def page(view: F) -> F:
    """A page: the banner's alerts fetched beside the page's calls, then the template."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        future = web().backend._pool.submit(_urgent_in(caller()))
        result = view(*args, **kwargs)
        g.urgent = future.result()
        if isinstance(result, tuple) and isinstance(result[0], str) and result[0].endswith(".html"):
            template, values, *status = result
            return (render(template, **values), *status) if status else render(template, **values)
        return result

    return wrapper  # type: ignore[return-value]


# -- sign-in -----------------------------------------------------------------------------------
@pages.get("/sign-in")
def sign_in() -> Any:
    if g.web_session.signed_in:
        return redirect(_safe_next(request.args.get("next")))
    context = web()
    return render(
        "sign_in.html",
        next=_safe_next(request.args.get("next")),
        oidc=context.provider is not None,
        people=DEMO_PEOPLE if context.settings.development_sign_in else [],
    )


@pages.post("/sign-in/start")
def sign_in_start() -> Any:
    provider = web().provider
    if provider is None:
        abort(404)
    try:
        url, pending = provider.begin(_callback_url())
    except SignInFailed as why:
        flash(str(why), "error")
        return redirect(url_for("pages.sign_in"))
    g.web_session.set("oidc", {**pending, "next": _safe_next(request.form.get("next"))})
    return redirect(url)


def _external(path: str) -> str:
    base = web().settings.public_url or request.host_url.rstrip("/")
    return base + path


def _callback_url() -> str:
    return _external(url_for("pages.sign_in_callback"))


@pages.get("/auth/callback")
def sign_in_callback() -> Any:
    provider = web().provider
    if provider is None:
        abort(404)
    pending = g.web_session.data.get("oidc") or {}
    try:
        person = provider.finish(_callback_url(), request.args, pending)
    except SignInFailed as why:
        g.web_session.pop("oidc")
        flash(str(why), "error")
        return redirect(url_for("pages.sign_in"))
    _start_session(person.as_session())
    return redirect(pending.get("next") or home_for(set(person.roles)))


@pages.post("/sign-in/development")
def sign_in_development() -> Any:
    """Pick a demo person (embedded default on loopback only; otherwise this page is a 404)."""
    context = web()
    if not context.settings.development_sign_in:
        abort(404)
    person = next((p for p in DEMO_PEOPLE if p.sub == request.form.get("person")), None)
    if person is None:
        abort(400)
    lifetime = context.settings.session_hours * 3600
    token = mint_token(
        context.settings.platform, person.sub, person.roles, org=person.org, ttl_seconds=lifetime
    )
    _start_session(
        {
            "sub": person.sub,
            "name": person.name,
            "roles": list(person.roles),
            "access_token": token,
            "refresh_token": None,
            "expires_at": time.time() + lifetime,
            "id_token": None,
        }
    )
    target = _safe_next(request.form.get("next"))
    return redirect(home_for(set(person.roles)) if target == "/" else target)


@pages.post("/sign-out")
def sign_out() -> Any:
    id_token = g.web_session.data.get("id_token")
    _end_session()
    provider = web().provider
    after = _external(url_for("pages.sign_in"))
    target = provider.logout_url(id_token, after) if provider is not None else None
    return redirect(target or url_for("pages.sign_in"))


# -- home and caseload -------------------------------------------------------------------------
@pages.get("/")
@signed_in()
def home() -> Any:
    return redirect(home_for(roles()))


@pages.route("/caseload", methods=["GET", "POST"])
@signed_in(*CASEWORK)
@page
def caseload() -> Any:
    """My caseload (a supervisor or admin names the case manager with ?case_manager=). The
    search is posted, never put in the URL: a name or birth date is client data."""
    me = g.web_session.data["sub"]
    manager = request.args.get("case_manager") or me
    person = caller()
    results = person.gather(
        entries=lambda: person.items("intake", f"/case-managers/{manager}/caseload"),
        overdue=lambda: person.items("planning", "/reviews/overdue"),
    )
    if isinstance(results["entries"], ApiError):
        raise results["entries"]
    overdue = [] if isinstance(results["overdue"], ApiError) else results["overdue"]
    rows = screens.caseload_rows(results["entries"], agency_today(), overdue_reviews=overdue)
    chosen = screens.filter_and_sort(
        rows,
        query=request.form.get("q", ""),
        risk=request.values.get("risk", ""),
        overdue_only=request.values.get("overdue") == "1",
        sort=request.values.get("sort", "risk"),
    )
    template = (
        "partials/caseload_rows.html" if request.headers.get("HX-Request") else "caseload.html"
    )
    return template, {
        "rows": chosen,
        "total": len(rows),
        "manager": manager,
        "mine": manager == me,
        "args": request.values,
        "sorts": screens.SORTS,
        "today": agency_today(),
    }


@pages.get("/clients")
@signed_in(*STAFF)
def find_client() -> Any:
    """Search by exact reference (what alerts and emails name), then open the record."""
    reference = request.args.get("reference", "").strip()
    if reference:
        found = caller().get("intake", "/clients", reference=reference, limit=1)["items"]
        if found:
            return redirect(url_for("pages.client_record", client_id=found[0]["id"]))
        flash(f"No client with reference {reference} that you may see.", "error")
    return redirect(home_for(roles()))


# -- client record -----------------------------------------------------------------------------
def _value(result: Any, default: Any = None) -> Any:
    return default if result is None or isinstance(result, ApiError) else result


@pages.get("/clients/<client_id>")
@signed_in(*STAFF)
@page
def client_record(client_id: str) -> Any:
    person = caller()
    casework = bool(roles() & set(CASEWORK))
    calls: dict[str, Callable[[], Any]] = {
        "client": lambda: person.get("intake", f"/clients/{client_id}"),
        "consents": lambda: person.items("intake", f"/clients/{client_id}/consents"),
        "assessments": lambda: person.items("intake", f"/clients/{client_id}/assessments"),
        "flags": lambda: person.items("intake", f"/clients/{client_id}/risk-flags"),
    }
    if casework:
        calls["plans"] = lambda: person.items("planning", "/plans", client_id=client_id)
        calls["referrals"] = lambda: person.items("referrals", "/referrals", client_id=client_id)
    if "supervisor" in roles() or "intake_worker" in roles() or "admin" in roles():
        calls["managers"] = lambda: person.items("intake", "/case-managers")
    results = person.backend.gather(calls)
    if isinstance(results["client"], ApiError):
        raise results["client"]
    client = results["client"]
    assessments = _value(results["assessments"], [])
    flags = _value(results["flags"], [])
    plans = _value(results.get("plans"), [])
    referrals = _value(results.get("referrals"), [])
    consents = _value(results["consents"], [])
    points = screens.score_history(assessments)
    open_flags = [flag for flag in flags if flag["status"] == "open"]
    active_plan = screens.latest([p for p in plans if p["status"] != "closed"], "created_at")
    return "client.html", {
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
        "timeline": screens.timeline(assessments=assessments, plans=plans, referrals=referrals),
        "managers": _value(results.get("managers"), []),
        "categories": screens.CONSENT_CATEGORIES,
        "today": agency_today(),
    }


@pages.post("/clients/<client_id>/consents")
@signed_in(*STAFF)
def grant_consent(client_id: str) -> Any:
    body = {
        "organization_id": request.form.get("organization_id", "").strip(),
        "categories": request.form.getlist("categories"),
        "starts_on": request.form.get("starts_on") or agency_today().isoformat(),
        "expires_on": request.form.get("expires_on") or None,
    }
    try:
        caller().send("intake", "POST", f"/clients/{client_id}/consents", body)
        flash(f"Consent to share with {body['organization_id']} recorded.")
    except ApiError as error:
        flash(error.plain_words, "error")
    return redirect(url_for("pages.client_record", client_id=client_id) + "#consents")


@pages.post("/clients/<client_id>/assignment")
@signed_in("intake_worker", "supervisor", "admin")
def assign(client_id: str) -> Any:
    body = {
        "case_manager_id": request.form.get("case_manager_id") or None,
        "team": request.form.get("team") or None,
        "override_reason": request.form.get("override_reason") or None,
    }
    try:
        result = caller().send("intake", "POST", f"/clients/{client_id}/assignment", body)
        note = " (over the cap: reason recorded)" if result.get("over_cap") else ""
        flash(f"Assigned to {result['case_manager_id']}{note}.")
    except ApiError as error:
        flash(error.plain_words, "error")
    back = _safe_next(request.form.get("back")) if request.form.get("back") else None
    return redirect(back or url_for("pages.client_record", client_id=client_id))


@pages.post("/clients/<client_id>/risk-flags/<flag_id>/resolve")
@signed_in(*CASEWORK)
def resolve_flag(client_id: str, flag_id: str) -> Any:
    try:
        caller().send(
            "intake",
            "POST",
            f"/clients/{client_id}/risk-flags/{flag_id}/resolve",
            {"note": request.form.get("note", "").strip()},
        )
        flash("Risk flag resolved.")
    except ApiError as error:
        flash(error.plain_words, "error")
    return redirect(url_for("pages.client_record", client_id=client_id))


# -- assessment --------------------------------------------------------------------------------
def _assessment_form_values() -> dict[str, Any]:
    return {
        "domains": screens.LIFE_DOMAINS,
        "ratings": screens.NEED_RATINGS,
        "phq9": screens.PHQ9_ITEMS,
        "gad7": screens.GAD7_ITEMS,
        "frequency": screens.FREQUENCY,
        "cssrs": screens.CSSRS_QUESTIONS,
        "after_q2": screens.CSSRS_AFTER_Q2,
    }


@pages.get("/clients/<client_id>/assessments/new")
@signed_in(*STAFF)
@page
def new_assessment(client_id: str) -> Any:
    client = caller().get("intake", f"/clients/{client_id}")
    return "assessment_form.html", {
        "client": client,
        "form": {},
        "error": None,
        **_assessment_form_values(),
    }


@pages.post("/clients/<client_id>/assessments")
@signed_in(*STAFF)
@page
def record_assessment(client_id: str) -> Any:
    person = caller()
    client = person.get("intake", f"/clients/{client_id}")
    try:
        result = person.send(
            "intake",
            "POST",
            f"/clients/{client_id}/assessments",
            screens.assessment_body(request.form),
        )
    except ApiError as error:
        return (
            "assessment_form.html",
            {
                "client": client,
                "form": request.form,
                "error": error.plain_words,
                **_assessment_form_values(),
            },
            422 if error.status < 500 else 503,
        )
    return "assessment_result.html", {"client": client, "assessment": result}


# -- plans -------------------------------------------------------------------------------------
@pages.get("/clients/<client_id>/plan")
@signed_in(*CASEWORK)
def client_plan(client_id: str) -> Any:
    """The client's current plan (the crisis alert and the assessment result link here)."""
    plans = caller().items("planning", "/plans", client_id=client_id)
    current = screens.latest([p for p in plans if p["status"] != "closed"], "created_at")
    if current is None:
        flash(
            "No open plan yet: planning drafts one when the assessment reaches it (a few seconds)."
        )
        return redirect(url_for("pages.client_record", client_id=client_id))
    return redirect(
        url_for("pages.plan", plan_id=current["id"], _anchor=request.args.get("section") or None)
    )


@pages.get("/plans/<plan_id>")
@signed_in(*CASEWORK)
@page
def plan(plan_id: str) -> Any:
    person = caller()
    results = person.gather(
        plan=lambda: person.get("planning", f"/plans/{plan_id}"),
        versions=lambda: person.items("planning", f"/plans/{plan_id}/versions"),
    )
    if isinstance(results["plan"], ApiError):
        raise results["plan"]
    current = results["plan"]
    comparison = None
    older, newer = request.args.get("older", type=int), request.args.get("newer", type=int)
    if older and newer:
        comparison = _value(
            _try(
                lambda: person.get(
                    "planning", f"/plans/{plan_id}/compare", older=older, newer=newer
                )
            )
        )
    notes = {}
    goals = current["working_version"]["content"]["goals"]
    if goals:
        fetched = person.gather(
            **{
                goal["id"]: (
                    lambda gid=goal["id"]: person.items(
                        "planning", f"/plans/{plan_id}/goals/{gid}/progress-notes"
                    )
                )
                for goal in goals
            }
        )
        notes = {key: _value(value, []) for key, value in fetched.items()}
    return "plan.html", {
        "plan": current,
        "goals": goals,
        "safety_plan": current["working_version"]["content"].get("safety_plan") or {},
        "sections": screens.SAFETY_PLAN_SECTIONS,
        "versions": _value(results["versions"], []),
        "comparison": comparison,
        "notes": notes,
        "domains": screens.LIFE_DOMAINS,
        "responsible": screens.RESPONSIBLE,
        "editable": current["status"] in ("draft", "under_review") and bool(roles() & set(EDITORS)),
    }


def _try(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ApiError as error:
        return error


def _plan_change(plan_id: str, method: str, path: str, body: Any, done: str, anchor: str) -> Any:
    try:
        caller().send("planning", method, f"/plans/{plan_id}{path}", body)
        flash(done)
    except ApiError as error:
        flash(error.plain_words, "error")
    return redirect(url_for("pages.plan", plan_id=plan_id, _anchor=anchor))


@pages.post("/plans/<plan_id>/goals")
@signed_in(*EDITORS)
def add_goal(plan_id: str) -> Any:
    form = request.form
    body = {
        "domain": form.get("domain", ""),
        "in_own_words": form.get("in_own_words", "").strip(),
        "measurable_target": form.get("measurable_target", "").strip(),
        "target_date": form.get("target_date") or None,
    }
    return _plan_change(plan_id, "POST", "/goals", body, "Goal added.", "goals")


@pages.post("/plans/<plan_id>/goals/<goal_id>")
@signed_in(*EDITORS)
def update_goal(plan_id: str, goal_id: str) -> Any:
    form = request.form
    body = {
        key: value.strip()
        for key in ("in_own_words", "measurable_target", "status")
        if (value := form.get(key, ""))
    }
    if form.get("target_date"):
        body["target_date"] = form["target_date"]
    return _plan_change(
        plan_id, "PATCH", f"/goals/{goal_id}", body, "Goal saved.", f"goal-{goal_id}"
    )


@pages.post("/plans/<plan_id>/goals/<goal_id>/strategies")
@signed_in(*EDITORS)
def add_strategy(plan_id: str, goal_id: str) -> Any:
    form = request.form
    body: dict[str, Any] = {
        "description": form.get("description", "").strip(),
        "responsible": form.get("responsible", ""),
        "due_by": form.get("due_by") or None,
    }
    if form.get("partner_service_id"):
        body["type"] = "referral"
        body["partner_service_id"] = form["partner_service_id"].strip()
    return _plan_change(
        plan_id, "POST", f"/goals/{goal_id}/strategies", body, "Strategy added.", f"goal-{goal_id}"
    )


@pages.post("/plans/<plan_id>/goals/<goal_id>/progress-notes")
@signed_in(*EDITORS)
def add_progress_note(plan_id: str, goal_id: str) -> Any:
    form = request.form
    body = {
        "note": form.get("note", "").strip(),
        "attainment": int(form.get("attainment") or 0)
        if (form.get("attainment") or "0").lstrip("-").isdigit()
        else form.get("attainment"),
        "achieved": form.get("achieved") == "yes",
    }
    return _plan_change(
        plan_id,
        "POST",
        f"/goals/{goal_id}/progress-notes",
        body,
        "Progress note added.",
        f"goal-{goal_id}",
    )


@pages.post("/plans/<plan_id>/safety-plan")
@signed_in(*EDITORS)
def save_safety_plan(plan_id: str) -> Any:
    return _plan_change(
        plan_id,
        "PUT",
        "/safety-plan",
        screens.safety_plan_body(request.form),
        "Safety plan saved.",
        "safety-plan",
    )


@pages.post("/plans/<plan_id>/approve")
@signed_in(*EDITORS)
def approve_plan(plan_id: str) -> Any:
    form = request.form
    body = {
        "client_agreed": form.get("client_agreed") == "yes",
        "method": form.get("method", ""),
        "present": screens.lines(form.get("present")),
        "notes": form.get("notes") or None,
    }
    return _plan_change(
        plan_id, "POST", "/approve", body, "Plan approved with the client's agreement.", "approval"
    )


@pages.post("/plans/<plan_id>/start-review")
@signed_in(*EDITORS)
def start_review(plan_id: str) -> Any:
    return _plan_change(
        plan_id,
        "POST",
        "/start-review",
        None,
        "Review started: changes go into a new version.",
        "top",
    )


# -- referrals ---------------------------------------------------------------------------------
@pages.get("/clients/<client_id>/referrals/new")
@signed_in(*EDITORS)
@page
def new_referral(client_id: str) -> Any:
    person = caller()
    args = request.args
    query = {
        "domain": args.get("domain") or None,
        "language": args.get("language") or None,
        "open_capacity": "true" if args.get("open_capacity") else None,
    }
    if args.get("latitude") and args.get("longitude"):
        query.update(
            latitude=args["latitude"],
            longitude=args["longitude"],
            within_km=args.get("within_km") or None,
        )
    results = person.gather(
        client=lambda: person.get("intake", f"/clients/{client_id}"),
        services=lambda: person.get("referrals", "/services", limit=50, **query)["items"],
        consents=lambda: person.items("intake", f"/clients/{client_id}/consents"),
    )
    if isinstance(results["client"], ApiError):
        raise results["client"]
    services_found = results["services"]
    return "referral_new.html", {
        "client": results["client"],
        "services": [] if isinstance(services_found, ApiError) else services_found,
        "search_error": services_found.plain_words
        if isinstance(services_found, ApiError)
        else None,
        "consents": {
            c["organization_id"]: c["categories"]
            for c in _value(results["consents"], [])
            if c.get("in_force")
        },
        "domains": screens.LIFE_DOMAINS,
        "categories": screens.CONSENT_CATEGORIES,
        "args": args,
    }


@pages.post("/referrals")
@signed_in(*EDITORS)
def create_referral() -> Any:
    form = request.form
    client_id = form.get("client_id", "")
    packet: dict[str, Any] = {}
    if form.get("contact_details"):
        packet["contact_details"] = {"note": form["contact_details"]}
    for category in ("assessment_summary", "risk_information", "diagnosis"):
        if form.get(category):
            packet[category] = form[category]
    body = {
        "client_id": client_id,
        "service_id": form.get("service_id", ""),
        "domain": form.get("domain") or None,
        "packet": packet,
    }
    try:
        referral = caller().send("referrals", "POST", "/referrals", body)
    except ApiError as error:
        flash(error.plain_words, "error")
        return redirect(url_for("pages.new_referral", client_id=client_id))
    flash("Draft referral saved: check the packet, then send it.")
    return redirect(url_for("pages.referral", referral_id=referral["id"]))


@pages.get("/referrals/<referral_id>")
@signed_in(*CASEWORK)
@page
def referral(referral_id: str) -> Any:
    person = caller()
    found = person.get("referrals", f"/referrals/{referral_id}")
    consents = _value(
        _try(lambda: person.items("intake", f"/clients/{found['client_id']}/consents")), []
    )
    consented = sorted(
        {
            c
            for consent in consents
            if consent.get("in_force") and consent["organization_id"] == found["organization_id"]
            for c in consent["categories"]
        }
    )
    return "referral.html", {
        "referral": found,
        "consented": consented,
        "categories": screens.CONSENT_CATEGORIES,
    }


@pages.post("/referrals/<referral_id>/send")
@signed_in(*EDITORS)
def send_referral(referral_id: str) -> Any:
    try:
        caller().send("referrals", "POST", f"/referrals/{referral_id}/send")
        flash("Referral sent to the partner.")
    except ApiError as error:
        flash(error.plain_words, "error")
    return redirect(url_for("pages.referral", referral_id=referral_id))


# -- inbox and crisis links --------------------------------------------------------------------
@pages.get("/inbox")
@signed_in(*STAFF)
@page
def inbox() -> Any:
    items = caller().get("notifications", "/me/notifications", limit=100)["items"]
    return "inbox.html", {"items": items}


@pages.post("/notifications/<notification_id>/acknowledge")
@signed_in(*STAFF, "on_call")
def acknowledge(notification_id: str) -> Any:
    try:
        result = caller().send(
            "notifications", "POST", f"/notifications/{notification_id}/acknowledge"
        )
        message, kind = "Alert acknowledged: escalation stopped.", "info"
    except ApiError as error:
        result, message, kind = None, error.plain_words, "error"
    if request.headers.get("HX-Request"):
        return render_template(
            "partials/ack_result.html", message=message, kind=kind, result=result
        )
    flash(message, kind)
    return redirect(
        _safe_next(request.form.get("back"))
        if request.form.get("back")
        else url_for("pages.notification", notification_id=notification_id)
    )


@pages.get("/notifications/<notification_id>")
@signed_in(*STAFF, "on_call")
@page
def notification(notification_id: str) -> Any:
    """Where every notification's link lands: the alert, and for a crisis the client's risk
    reasons and safety plan (as far as this person may see them)."""
    person = caller()
    item = None
    if roles() & set(STAFF):
        items = person.items("notifications", "/me/notifications", limit=200)
        item = next((i for i in items if i["notification_id"] == notification_id), None)
    client, flags, safety_plan, plan_id = None, [], None, None
    reference = (item or {}).get("client_reference")
    if reference and roles() & set(STAFF):
        found = _value(
            _try(lambda: person.get("intake", "/clients", reference=reference, limit=1)),
            {"items": []},
        )["items"]
        if found:
            client = found[0]
            results = person.gather(
                flags=lambda: person.items("intake", f"/clients/{client['id']}/risk-flags"),
                plans=lambda: person.items("planning", "/plans", client_id=client["id"]),
            )
            flags = [f for f in _value(results["flags"], []) if f["status"] == "open"]
            current = screens.latest(
                [p for p in _value(results["plans"], []) if p["status"] != "closed"], "created_at"
            )
            if current:
                plan_id = current["id"]
                safety_plan = current["working_version"]["content"].get("safety_plan")
    return "notification.html", {
        "notification_id": notification_id,
        "item": item,
        "client": client,
        "flags": flags,
        "safety_plan": safety_plan,
        "plan_id": plan_id,
        "sections": screens.SAFETY_PLAN_SECTIONS,
    }


@pages.get("/on-call")
@signed_in("on_call")
@page
def on_call() -> Any:
    return "on_call.html", {}


@pages.route("/clients/<client_id>/emergency-access", methods=["GET", "POST"])
@signed_in("on_call", "supervisor")
@page
def emergency_access(client_id: str) -> Any:
    """Where the escalated crisis alert links: break the glass with a reason (services.web.emergency)."""
    reason = request.form.get("reason", "").strip() if request.method == "POST" else ""
    if not reason:
        return "emergency_access.html", {"client_id": client_id, "picture": None, "error": None}
    try:
        found = emergency.open_crisis_picture(caller(), client_id, reason)
    except ApiError as error:
        values = {"client_id": client_id, "picture": None, "error": error.plain_words}
        return "emergency_access.html", values, error.status if error.status < 500 else 503
    picture = {
        key: {"error": value.plain_words} if isinstance(value, ApiError) else value
        for key, value in found.items()
    }
    return "emergency_access.html", {"client_id": client_id, "picture": picture, "error": None}


# -- supervisor --------------------------------------------------------------------------------
@pages.get("/team")
@signed_in("supervisor", "admin")
@page
def team() -> Any:
    person = caller()
    results = person.gather(
        managers=lambda: person.items("intake", "/case-managers"),
        overdue=lambda: person.items("planning", "/reviews/overdue"),
        inbox=lambda: person.get("notifications", "/me/notifications", limit=100)["items"],
        duplicates=lambda: person.items("intake", "/duplicate-reviews", status="open"),
    )
    if isinstance(results["managers"], ApiError):
        raise results["managers"]
    managers = screens.team_load(results["managers"])
    return "team.html", {
        "managers": managers,
        "open_flags": sum(m["open_risk_flags"] for m in managers),
        "overdue": _value(results["overdue"], []),
        "alerts": screens.urgent_alerts(_value(results["inbox"], [])),
        "duplicates": _value(results["duplicates"], []),
    }


# -- intake ------------------------------------------------------------------------------------
@pages.get("/intake")
@signed_in("intake_worker", "supervisor", "admin")
@page
def intake() -> Any:
    return "intake.html", {"form": {}, "duplicate": None, "error": None}


@pages.post("/intake/clients")
@signed_in("intake_worker", "supervisor", "admin")
@page
def register_client() -> Any:
    form = request.form
    body: dict[str, Any] = {
        "given_name": form.get("given_name", "").strip(),
        "family_name": form.get("family_name", "").strip(),
        "date_of_birth": form.get("date_of_birth", ""),
        "preferred_language": form.get("preferred_language") or None,
        "contact": {"phone": form.get("phone") or None, "email": form.get("email") or None},
        "advance_statement": form.get("advance_statement") or None,
        "confirmed_not_duplicate": form.get("confirmed_not_duplicate") == "yes",
    }
    if form.get("nominated_name"):
        body["nominated_persons"] = [
            {
                "name": form["nominated_name"].strip(),
                "relationship_to_client": form.get("nominated_relationship") or "family",
                "phone": form.get("nominated_phone") or None,
                "may_be_told": form.getlist("nominated_may_be_told"),
            }
        ]
    try:
        client = caller().send("intake", "POST", "/clients", body)
    except ApiError as error:
        duplicate = error.status == 409 and bool(error.body.get("existing_client_ids"))
        return (
            "intake.html",
            {
                "form": form,
                "duplicate": error.body.get("existing_client_ids") if duplicate else None,
                "error": error.plain_words,
            },
            409 if duplicate else (422 if error.status < 500 else 503),
        )
    flash(f"Registered {client['given_name']} {client['family_name']} as {client['reference']}.")
    return redirect(url_for("pages.client_record", client_id=client["id"]))


# -- errors ------------------------------------------------------------------------------------
def api_error_page(error: ApiError) -> tuple[str, int]:
    """An API's refusal in plain words; what the APIs would answer 404 to is simply not found."""
    status = error.status if error.status in (400, 403, 404, 409, 422) else 503
    return render("error.html", status=status, message=error.plain_words), status


def http_error_page(error: Any) -> tuple[str, int]:
    status = getattr(error, "code", 500) or 500
    messages = {
        400: "The form could not be used (it may have expired). Go back, reload and try again.",
        403: "Your role does not include this page.",
        404: "There is no such page, or it is not yours to see.",
        405: "That action is not available here.",
    }
    return render(
        "error.html", status=status, message=messages.get(status, "Something went wrong.")
    ), status
