"""Closing a case from the client record: the discharge summary is written and the client
discharged in one form, a refused discharge keeps what was typed (and the summary), and the
former case manager completes the summary after the case has left her caseload."""

from __future__ import annotations

import re

from tests.support.platform import wait_until
from tests.web.conftest import CASE_MANAGER, WebPlatform
from tests.web.test_casework import assigned_client

SUMMARY = {
    "reason": "Housed and stable; goals met with Sam",
    "services_received": "Case management\nHousing First tenancy support\n",
    "follow_up": "GP review in four weeks.",
    "told": "GP\nSister (nominated person)",
}


def test_a_case_is_closed_with_its_summary_and_the_summary_completed_afterwards(
    web_platform: WebPlatform,
) -> None:
    web_platform.seed_team_and_directory()
    client_id = assigned_client(web_platform)
    manager = web_platform.person(CASE_MANAGER)
    record = manager.text(f"/clients/{client_id}")
    assert f'href="/clients/{client_id}/discharge"' in record
    form = manager.text(f"/clients/{client_id}/discharge")
    assert "Discharge and close the case" in form and "Goals met" in form

    refused = manager.post(  # no reason for the discharge: refused, nothing typed is lost
        f"/clients/{client_id}/discharge", {**SUMMARY, "reason_code": "not-a-reason"}
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'role="alert"' in page and "GP review in four weeks." in page
    assert "Sister (nominated person)" in page
    intake, manager_token = (
        web_platform.api("intake"),
        web_platform.as_(CASE_MANAGER, "case_manager"),
    )
    assert intake.get(f"/clients/{client_id}", headers=manager_token).json["status"] == "open"

    closed = manager.post(
        f"/clients/{client_id}/discharge", {**SUMMARY, "reason_code": "goals_met"}
    )
    assert closed.status_code == 302
    assert closed.headers["Location"].endswith(f"/clients/{client_id}/discharge-summary")
    summary = manager.text(f"/clients/{client_id}/discharge-summary")
    assert "Discharged: the case is closed and its summary kept." in summary
    for written in ("Housing First tenancy support", "GP review in four weeks.", "Sister"):
        assert written in summary
    assert re.search(r"<dt>Written by</dt><dd>cm-ana", summary)

    # Planning hears of the discharge from intake's event: the summary gets its date, and the
    # case manager, who no longer carries the client, still completes it.
    planning = web_platform.api("planning")
    assert wait_until(
        lambda: planning.get(
            f"/clients/{client_id}/discharge-summary", headers=manager_token
        ).json.get("discharged_at"),
        timeout=15,
    ), "planning never heard of the discharge"
    caseload = manager.text("/caseload")
    assert client_id not in caseload
    again = manager.text(f"/clients/{client_id}/discharge")
    assert "Save the summary" in again and 'name="reason_code"' not in again
    saved = manager.post(
        f"/clients/{client_id}/discharge", {**SUMMARY, "told": "GP\nSister\nHousing First"}
    )
    assert saved.status_code == 302
    completed = manager.text(f"/clients/{client_id}/discharge-summary")
    assert "Discharge summary saved." in completed and "<li>Housing First</li>" in completed
    assert "<dt>Discharged</dt><dd>—" not in completed  # the discharge date is there


def test_an_intake_worker_readmits_a_discharged_client_from_the_record(
    web_platform: WebPlatform,
) -> None:
    web_platform.seed_team_and_directory()
    client_id = assigned_client(web_platform)
    manager = web_platform.person(CASE_MANAGER)
    closed = manager.post(
        f"/clients/{client_id}/discharge", {**SUMMARY, "reason_code": "moved_away"}
    )
    assert closed.status_code == 302
    intake = web_platform.person("iw-demo")
    record = intake.text(f"/clients/{client_id}")
    assert "was discharged" in record and f'action="/clients/{client_id}/readmit"' in record
    readmitted = intake.post(f"/clients/{client_id}/readmit")
    assert readmitted.status_code == 302 and readmitted.headers["Location"].endswith("#assignment")
    record = intake.text(f"/clients/{client_id}")
    assert "Re-admitted: a new episode is open." in record and "was discharged" not in record
    assert 'action="/clients/' + client_id + '/assignment"' in record
    again = intake.post(f"/clients/{client_id}/readmit")  # already open: refused in words
    assert again.status_code == 302
    assert 'class="flash flash-error"' in intake.text(f"/clients/{client_id}")
