from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.backends import Backend
from tests.support.notes import FAULTS
from tests.support.platform import TestPlatform, create_platform


@pytest.fixture
def platform(backend: Backend, data_dir: Path) -> Iterator[TestPlatform]:
    FAULTS.failing_note_ids.clear()
    FAULTS.refused_note_ids.clear()
    FAULTS.calls.clear()
    FAULTS.batches.clear()
    test_platform = create_platform(backend, data_dir)
    yield test_platform
    test_platform.shutdown()
    test_platform.remove_broker_objects()
