"""A member of staff sets how Casehub reaches them from the inbox: e-mail, channels, time zone,
quiet hours and the daily digest; a refused change comes back with what was typed."""

from __future__ import annotations

from tests.web.conftest import CASE_MANAGER, WebPlatform


def test_staff_set_how_they_are_reached_and_a_refused_change_keeps_what_was_typed(
    web_platform: WebPlatform,
) -> None:
    manager = web_platform.person(CASE_MANAGER)
    assert 'href="/inbox/preferences"' in manager.text("/inbox")
    page = manager.text("/inbox/preferences")
    assert "Crisis alerts reach you at once" in page and 'name="quiet_start"' in page

    form = {
        "email": "ana@agency.example",
        "channels": ["in_app", "email"],
        "time_zone": "America/Chicago",
        "quiet_start": "21:30",
        "quiet_end": "07:00",
        "daily_digest_at": "",
    }
    saved = manager.post("/inbox/preferences", form)
    assert saved.status_code == 302
    stored = web_platform.api("notifications").get(
        "/me/preferences", headers=web_platform.as_(CASE_MANAGER, "case_manager")
    )
    assert stored.json["time_zone"] == "America/Chicago"
    assert (stored.json["quiet_start"], stored.json["quiet_end"]) == ("21:30:00", "07:00:00")
    assert sorted(stored.json["channels"]) == ["email", "in_app"]
    assert stored.json["daily_digest_at"] is None
    again = manager.text("/inbox/preferences")
    assert "Saved: this is how Casehub reaches you now." in again
    assert 'value="21:30"' in again and 'value="America/Chicago"' in again

    refused = manager.post("/inbox/preferences", {**form, "time_zone": "Mars/Olympus_Mons"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'role="alert"' in page and "time zone" in page.lower()
    assert 'value="Mars/Olympus_Mons"' in page and 'value="ana@agency.example"' in page
    kept = web_platform.api("notifications").get(
        "/me/preferences", headers=web_platform.as_(CASE_MANAGER, "case_manager")
    )
    assert kept.json["time_zone"] == "America/Chicago"
