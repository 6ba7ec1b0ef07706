"""The client's consent to appointment reminders on the client record, through the Flask test
client against the real services: not asked, refused addresses shown beside their field with
what was typed kept, recorded, changed, withdrawn (the address forgotten), and the same answer
in intake's API."""

from __future__ import annotations

import re

from tests.web.conftest import CASE_MANAGER, WebPlatform
from tests.web.test_casework import assigned_client


def test_reminder_consent_is_recorded_refused_beside_its_field_and_withdrawn(
    web_platform: WebPlatform,
) -> None:
    web_platform.seed_team_and_directory()
    client_id = assigned_client(web_platform)
    manager = web_platform.person(CASE_MANAGER)
    record = manager.text(f"/clients/{client_id}")
    assert 'data-reminders="not-asked"' in record and "Not asked yet" in record
    assert "Withdraw consent to reminders" not in record

    path = f"/clients/{client_id}/reminder-consent"
    not_e164 = manager.post(path, {"channel": "sms", "address": "555-0142"})
    assert not_e164.status_code == 422
    page = not_e164.get_data(as_text=True)
    assert '<p id="reminder-address-error" class="field-error">' in page
    assert "E.164" in page[page.find('id="reminder-address-error"') :][:200]
    assert re.search(
        r'id="reminder-address"[^>]*value="555-0142" '
        r'aria-describedby="reminder-address-hint reminder-address-error" aria-invalid="true"',
        page,
    )
    assert re.search(r'value="sms" checked', page)  # what was chosen is kept
    assert 'id="reminder-channel-error"' not in page

    no_channel = manager.post(path, {"address": "jo@home.example"})
    assert no_channel.status_code == 422
    page = no_channel.get_data(as_text=True)
    assert '<p id="reminder-channel-error" class="field-error">' in page
    assert 'aria-describedby="reminder-channel-error" aria-invalid="true"' in page
    assert 'value="jo@home.example"' in page
    assert 'data-reminders="not-asked"' in page  # nothing recorded

    phone_as_email = manager.post(path, {"channel": "email", "address": "+15550142"})
    assert phone_as_email.status_code == 422
    assert 'id="reminder-address-error"' in phone_as_email.get_data(as_text=True)

    given = manager.post(
        path, {"channel": "sms", "address": "+447700900123"}, follow_redirects=True
    )
    page = given.get_data(as_text=True)
    assert "Consent to appointment reminders recorded: by text message." in page
    assert 'data-reminders="agreed"' in page and "to +447700900123" in page
    assert "agreed, by text message" in page and CASE_MANAGER in page

    changed = manager.post(path, {"channel": "email", "address": "jo@home.example"})
    assert changed.status_code == 302 and changed.headers["Location"].endswith("#reminders")
    page = manager.text(f"/clients/{client_id}")
    assert "by e-mail</strong> to jo@home.example" in page and "+447700900123" not in page

    withdrawn = manager.post(path + "/withdraw", follow_redirects=True).get_data(as_text=True)
    assert "Consent to reminders withdrawn" in withdrawn
    assert 'data-reminders="withdrawn"' in withdrawn and "jo@home.example" not in withdrawn
    assert "Withdraw consent to reminders" not in withdrawn

    api = web_platform.api("intake").get(
        f"/clients/{client_id}/reminder-consent",
        headers=web_platform.as_(CASE_MANAGER, "case_manager"),
    )
    assert api.json["consented"] is False and api.json["version"] == 3


def test_a_client_not_yours_gets_no_consent_recorded(web_platform: WebPlatform) -> None:
    web_platform.seed_team_and_directory()
    client_id = assigned_client(web_platform)
    stranger = web_platform.person("cm-ben")
    refused = stranger.post(
        f"/clients/{client_id}/reminder-consent", {"channel": "sms", "address": "+15550142"}
    )
    assert refused.status_code == 302
    shown = stranger.get(refused.headers["Location"])
    assert shown.status_code == 404 and "flash-error" in shown.get_data(as_text=True)
    api = web_platform.api("intake").get(
        f"/clients/{client_id}/reminder-consent",
        headers=web_platform.as_(CASE_MANAGER, "case_manager"),
    )
    assert api.status_code == 404  # still never asked
