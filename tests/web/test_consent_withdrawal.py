"""A client withdraws a consent to share: the case manager records it from the record, with the
client's reason, and the consent stops being in force at once (partners are told by intake's
event). A withdrawal without a reason, or of a consent already withdrawn, is refused in words."""

from __future__ import annotations

import re

from tests.web.conftest import CASE_MANAGER, WebPlatform
from tests.web.test_casework import assigned_client

PARTNER_ORG = "housing-first"


def test_a_consent_is_withdrawn_from_the_record_with_the_clients_reason(
    web_platform: WebPlatform,
) -> None:
    web_platform.seed_team_and_directory()
    client_id = assigned_client(web_platform)
    manager = web_platform.person(CASE_MANAGER)
    granted = manager.post(
        f"/clients/{client_id}/consents",
        {"organization_id": PARTNER_ORG, "categories": ["contact_details"]},
    )
    assert granted.status_code == 302
    record = manager.text(f"/clients/{client_id}")
    [consent_id] = re.findall(r"/consents/([0-9a-f-]{36})/revoke", record)
    assert "Withdraw consent" in record

    unexplained = manager.post(f"/clients/{client_id}/consents/{consent_id}/revoke", {"reason": ""})
    assert unexplained.status_code == 422  # said beside the reason, in plain words
    page = unexplained.get_data(as_text=True)
    assert f'<a href="#revoke-{consent_id}">Enter why the client withdrew.</a>' in page
    assert f'id="revoke-{consent_id}-error" class="field-error"' in page

    withdrawn = manager.post(
        f"/clients/{client_id}/consents/{consent_id}/revoke",
        {"reason": "Does not want the housing team to have her number any more"},
    )
    assert withdrawn.status_code == 302 and withdrawn.headers["Location"].endswith("#consents")
    record = manager.text(f"/clients/{client_id}")
    assert f"Consent to share with {PARTNER_ORG} withdrawn: sharing has stopped." in record
    assert "no: withdrawn" in record and f"/consents/{consent_id}/revoke" not in record
    assert "Consent to share</dt><dd>none in force" in record
    consents = web_platform.api("intake").get(
        f"/clients/{client_id}/consents", headers=web_platform.as_(CASE_MANAGER, "case_manager")
    )
    [consent] = consents.json["items"]
    assert consent["revoked_at"] and consent["in_force"] is False
    assert consent["revocation_reason"].startswith("Does not want")

    again = manager.post(f"/clients/{client_id}/consents/{consent_id}/revoke", {"reason": "twice"})
    assert 400 <= again.status_code < 500
    assert 'class="error-summary"' in again.get_data(as_text=True)
