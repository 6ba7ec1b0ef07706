"""Two reporting workers handling two versions of one case manager at the same moment: the
newer version is what the read model keeps, whichever commits last (PostgreSQL, where two
workers really run side by side)."""

from __future__ import annotations

import threading

from services.reporting.models import StaffMember
from tests.reporting.conftest import ReportingApi
from tests.reporting.scenario import staff
from tests.support.platform import wait_until, waiting_on_a_lock


def test_an_older_version_handled_beside_a_newer_one_never_wins(
    reporting: ReportingApi, real_only: None
) -> None:
    reporting.deliver([staff("cm-1", "North", "sup-1", version=1)])
    handled, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def newer_worker() -> None:
        """Handles version 3 and holds its transaction open until the older one is waiting."""
        try:
            with reporting.runtime.unit_of_work() as uow:
                reporting.runtime.spec.handlers["intake.case_manager.updated.v1"](
                    staff("cm-1", "South", "sup-3", version=3), uow
                )
                uow.session.flush()
                handled.set()
                assert release.wait(timeout=60)
        except BaseException as error:
            errors.append(error)
            handled.set()

    def older_worker() -> None:
        try:
            reporting.deliver([staff("cm-1", "East", "sup-2", version=2)])
        except BaseException as error:
            errors.append(error)

    newer = threading.Thread(target=newer_worker)
    older = threading.Thread(target=older_worker)
    newer.start()
    assert handled.wait(timeout=60)
    older.start()
    assert wait_until(lambda: waiting_on_a_lock(reporting.runtime), timeout=30)
    release.set()
    newer.join(timeout=60)
    older.join(timeout=60)
    assert errors == []
    with reporting.runtime.database.read_session() as session:
        row = session.get(StaffMember, "cm-1")
        assert row is not None and (row.version, row.team) == (3, "South")
