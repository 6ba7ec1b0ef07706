"""Referrals: drafting from the directory, sending to a partner, following the answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import redirect, request, url_for

from services.web import forms, screens
from services.web.api.common import (
    CASEWORK,
    EDITORS,
    attempt,
    caller,
    flash,
    page,
    pages,
    refused_status,
    signed_in,
    value_or,
)
from services.web.backend import ApiError, Caller
from services.web.refusals import refusal


@pages.get("/clients/<client_id>/referrals/new")
@signed_in(*EDITORS)
@page
def new_referral(client_id: str) -> Any:
    return "referral_new.html", directory_values(caller(), client_id, request.args)


def directory_values(
    person: Caller, client_id: str, args: Mapping[str, Any], **shown: Any
) -> dict[str, Any]:
    """The directory searched as ``args`` say; ``shown`` adds a refused draft's refusal."""
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
    return {
        "client": results["client"],
        "services": [] if isinstance(services_found, ApiError) else services_found,
        "search_error": services_found.plain_words
        if isinstance(services_found, ApiError)
        else None,
        "consents": {
            c["organization_id"]: c["categories"]
            for c in value_or(results["consents"], [])
            if c.get("in_force")
        },
        "domains": screens.LIFE_DOMAINS,
        "categories": screens.CONSENT_CATEGORIES,
        "args": args,
        "refusal": None,
        **shown,
    }


@pages.post("/referrals")
@signed_in(*EDITORS)
@page
def create_referral() -> Any:
    """A draft, or the directory again with why not beside the service's draft form and what
    was typed in it kept (the search by the need it was drafted for)."""
    person, form = caller(), request.form
    client_id, service_id = form.get("client_id", ""), form.get("service_id", "")
    packet: dict[str, Any] = {}
    if form.get("contact_details"):
        packet["contact_details"] = {"note": form["contact_details"]}
    for category in ("assessment_summary", "risk_information", "diagnosis"):
        if form.get(category):
            packet[category] = form[category]
    body = {
        "client_id": client_id,
        "service_id": service_id,
        "domain": form.get("domain") or None,
        "packet": packet,
    }
    try:
        referral = person.send("referrals", "POST", "/referrals", body)
    except ApiError as error:
        shown = refusal(error, forms.referral_form(service_id), form)
        need = form.get("domain") if form.get("domain") in screens.LIFE_DOMAINS else None
        values = directory_values(person, client_id, {"domain": need}, refusal=shown)
        return "referral_new.html", values, refused_status(error)
    flash("Draft referral saved: check the packet, then send it.")
    return redirect(url_for("pages.referral", referral_id=referral["id"]))


@pages.get("/referrals/<referral_id>")
@signed_in(*CASEWORK)
@page
def referral(referral_id: str) -> Any:
    person = caller()
    found = person.get("referrals", f"/referrals/{referral_id}")
    consents = value_or(
        attempt(lambda: person.items("intake", f"/clients/{found['client_id']}/consents")), []
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
