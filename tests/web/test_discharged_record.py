"""A discharged client's record through the Flask test client, against the real services: the
supervisor is offered only what still works on it (re-admission, the discharge summary, a
consent withdrawn), the former case manager reads the casework read-only for the hand-over
period instead of a bare "not found", and anyone else gets a page saying why there is nothing."""

from __future__ import annotations

from tests.support.platform import wait_until
from tests.web.conftest import CASE_MANAGER, PARTNER_ORG, SUPERVISOR, WebPlatform
from tests.web.test_casework import NOTE, assigned_client, hours_ago
from tests.web.test_discharge import SUMMARY


def _discharged(web_platform: WebPlatform) -> tuple[str, str, str]:
    """A client with a signed contact and a consent, discharged: (client id, contact path,
    consent id) once planning has heard of the discharge."""
    web_platform.seed_team_and_directory()
    client_id = assigned_client(web_platform)
    manager = web_platform.person(CASE_MANAGER)
    manager.text(f"/clients/{client_id}")
    granted = manager.post(
        f"/clients/{client_id}/consents",
        {"organization_id": PARTNER_ORG, "categories": ["contact_details"]},
    )
    assert granted.status_code == 302
    contact = manager.post(
        f"/clients/{client_id}/contacts",
        {
            "contact_type": "phone",
            "occurred_at": hours_ago(1),
            "duration_minutes": "20",
            "purpose": "Hand-over call",
            "participants": "client",
            **NOTE,
            "sign": "yes",
        },
    )
    assert contact.status_code == 302, contact.get_data(as_text=True)[-600:]
    closed = manager.post(
        f"/clients/{client_id}/discharge", {**SUMMARY, "reason_code": "goals_met"}
    )
    assert closed.status_code == 302
    planning, token = web_platform.api("planning"), web_platform.as_(CASE_MANAGER, "case_manager")
    assert wait_until(
        lambda: planning.get(f"/clients/{client_id}/discharge-summary", headers=token).json.get(
            "discharged_at"
        ),
        timeout=15,
    ), "planning never heard of the discharge"
    record = web_platform.person(SUPERVISOR).text(f"/clients/{client_id}")
    consent_id = record.split(f"/clients/{client_id}/consents/", 1)[1].split("/revoke", 1)[0]
    return client_id, contact.headers["Location"], consent_id


def test_a_discharged_record_offers_only_what_still_works(web_platform: WebPlatform) -> None:
    client_id, contact_path, consent_id = _discharged(web_platform)
    supervisor = web_platform.person(SUPERVISOR)
    record = supervisor.text(f"/clients/{client_id}")
    assert 'id="discharged"' in record and "(goals met)" in record
    for gone in (
        f'href="/clients/{client_id}/assessments/new"',
        f'href="/clients/{client_id}/referrals/new"',
        f'href="/clients/{client_id}/contacts/new"',
        f'href="/clients/{client_id}/appointments/new"',
        f'action="/clients/{client_id}/consents"',
        f'action="/clients/{client_id}/reminder-consent"',
        f'href="/clients/{client_id}/discharge"',
    ):
        assert gone not in record, gone
    for kept in (
        f'action="/clients/{client_id}/readmit"',
        f'href="/clients/{client_id}/discharge-summary"',
        f'action="/clients/{client_id}/consents/{consent_id}/revoke"',
    ):
        assert kept in record, kept
    assert supervisor.text(f"/clients/{client_id}/discharge-summary").count("GP review") == 1
    read_only = supervisor.text(contact_path)  # the note reads; nothing is offered on it
    assert NOTE["note_data"] in read_only and "Add addendum" not in read_only
    withdrawn = supervisor.post(
        f"/clients/{client_id}/consents/{consent_id}/revoke",
        {"reason": "Asked us to stop sharing"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "sharing has stopped" in withdrawn


def test_the_former_case_manager_reads_the_closed_record_read_only(
    web_platform: WebPlatform,
) -> None:
    client_id, contact_path, _ = _discharged(web_platform)
    manager = web_platform.person(CASE_MANAGER)
    former = manager.get(f"/clients/{client_id}")
    assert former.status_code == 200
    page = former.get_data(as_text=True)
    assert "No longer on your caseload" in page and "Why: Housed and stable" in page
    assert "the hand-over period" in page and "Until <strong>" in page
    assert f'href="{contact_path}">Hand-over call</a>' in page
    assert f'href="/clients/{client_id}/discharge"' in page  # complete the summary
    assert "Record a contact" not in page and "Chen" not in page  # intake's details stay there
    contact = manager.text(contact_path)
    assert NOTE["note_data"] in contact and "Add addendum" not in contact
    assert "Back to C-" in contact

    stranger = web_platform.person("cm-ben")  # never carried the client: a page saying so
    refused = stranger.get(f"/clients/{client_id}")
    assert refused.status_code == 404
    assert "hand-over period after their discharge" in refused.get_data(as_text=True)
    nobody = stranger.get("/clients/00000000-0000-0000-0000-000000000000")
    assert nobody.status_code == 404
    assert nobody.get_data(as_text=True).count("hand-over period") == 1  # the same words
