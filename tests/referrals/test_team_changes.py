"""A reassignment, a team change or a discharge in intake reaches referrals' access rules through
the broker: whoever no longer carries or supervises the client loses the referral packet (with
the client's phone number), the new people get it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.referrals.conftest import PACKET, ReferralsApi
from tests.support.backends import Backend
from tests.support.journey import admit_client, bearer
from tests.support.platform import wait_until
from tests.support.services import RunningServices


@pytest.fixture
def services(backend: Backend, data_dir: Path) -> Iterator[RunningServices]:
    running = RunningServices(backend, data_dir, ["intake", "referrals"])
    yield running
    running.shutdown()


def test_the_referral_packet_follows_reassignment_team_change_and_discharge(
    services: RunningServices,
) -> None:
    intake = services["intake"].create_app().test_client()
    referrals = services["referrals"].create_app().test_client()
    settings = services["intake"].settings
    admin = bearer(settings, "admin-1", "admin")
    referrals.put("/organizations/housing-first", headers=admin, json={"name": "Housing First"})
    referrals.put(
        "/services/tenancy",
        headers=admin,
        json={"organization_id": "housing-first", "name": "Tenancy", "domains": ["housing"]},
    )

    def hire(person: str, supervisor: str) -> None:
        saved = intake.put(
            f"/case-managers/{person}",
            headers=admin,
            json={
                "display_name": person,
                "team": f"team-{supervisor}",
                "supervisor_id": supervisor,
            },
        )
        assert saved.status_code == 200, saved.json

    client = admit_client(intake, settings, case_manager="cm-1", supervisor="sup-1")
    hire("cm-2", "sup-2")
    services.start_workers()

    def drafted() -> int:
        return referrals.post(
            "/referrals",
            headers=bearer(settings, "cm-1", "case_manager"),
            json={"client_id": client["id"], "service_id": "tenancy", "packet": PACKET},
        ).status_code

    assert wait_until(lambda: drafted() == 201, timeout=30)
    [referral] = referrals.get("/referrals", headers=admin).json["items"]
    path = f"/referrals/{referral['id']}"

    def sees(person: str, role: str) -> tuple[int, bool]:
        """What the person gets when they open the referral, and whether their list shows it."""
        response = referrals.get(path, headers=bearer(settings, person, role))
        if response.status_code == 200:
            assert response.json["packet"]["contact_details"] == {"phone": "555-0100"}
        listed = referrals.get("/referrals", headers=bearer(settings, person, role)).json["items"]
        return response.status_code, referral["id"] in [r["id"] for r in listed]

    shown, hidden = (200, True), (404, False)
    assert sees("cm-1", "case_manager") == shown and sees("sup-1", "supervisor") == shown
    assert sees("cm-2", "case_manager") == hidden and sees("sup-2", "supervisor") == hidden

    # reassigned to cm-2 of sup-2's team
    moved = intake.post(
        f"/clients/{client['id']}/assignment", headers=admin, json={"case_manager_id": "cm-2"}
    )
    assert moved.status_code == 201, moved.json
    assert wait_until(lambda: sees("cm-2", "case_manager") == shown, timeout=30)
    assert sees("cm-1", "case_manager") == hidden
    assert sees("sup-2", "supervisor") == shown and sees("sup-1", "supervisor") == hidden
    sent = referrals.post(f"{path}/send", headers=bearer(settings, "cm-1", "case_manager"))
    assert sent.status_code == 404

    # cm-2 moves to sup-3's team
    hire("cm-2", "sup-3")
    assert wait_until(lambda: sees("sup-3", "supervisor") == shown, timeout=30)
    assert sees("sup-2", "supervisor") == hidden and sees("cm-2", "case_manager") == shown

    # discharged: no one carries the client; the open referral is cancelled (admins still read)
    discharged = intake.post(
        f"/clients/{client['id']}/discharge", headers=admin, json={"reason_code": "moved_away"}
    )
    assert discharged.status_code == 200, discharged.json
    assert wait_until(lambda: sees("cm-2", "case_manager") == hidden, timeout=30)
    assert sees("sup-3", "supervisor") == hidden
    assert referrals.get(path, headers=admin).json["status"] == "cancelled"


def test_a_late_assignment_never_gives_the_referral_back(referrals: ReferralsApi) -> None:
    client_id = referrals.client()  # cm-1 of sup-1
    referral_id = referrals.referral(client_id, send=False)

    def assigned(case_manager: str, supervisor: str, care_version: int) -> None:
        referrals.deliver(
            "intake.case.assigned.v1",
            {
                "client_id": client_id,
                "client_reference": "C-1042",
                "episode_id": "e-1",
                "case_manager_id": case_manager,
                "supervisor_id": supervisor,
                "assigned_by": "iw-1",
                "method": "explicit",
                "over_cap": False,
                "assigned_at": datetime.now(UTC),
                "care_version": care_version,
            },
        )

    assigned("cm-3", "sup-3", care_version=3)
    assigned("cm-1", "sup-1", care_version=2)  # arrives late
    assigned("cm-3", "sup-3", care_version=3)  # and again
    path = f"/referrals/{referral_id}"
    assert referrals.call("GET", path, as_=("cm-3", "case_manager")).status_code == 200
    assert referrals.call("GET", path, as_=("cm-1", "case_manager")).status_code == 404
    assert referrals.call("GET", path, as_=("sup-1", "supervisor")).status_code == 404
    assert referrals.call("GET", path, as_=("sup-3", "supervisor")).status_code == 200
