"""The web-pages benchmark measures each page against the API calls that page really makes: its
lists (bench/web_pages.py) are held equal to what the web app calls for a case manager."""

from __future__ import annotations

from typing import Any

import pytest

from bench.web_pages import MANAGER, page_calls
from services.web.backend import Backend
from tests.web.conftest import CASE_MANAGER, WebPlatform
from tests.web.test_casework import assigned_client


def test_the_bench_makes_the_calls_each_page_makes(
    web_platform: WebPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert MANAGER == CASE_MANAGER
    web_platform.seed_team_and_directory()
    client_id = assigned_client(web_platform)
    made: list[tuple[str, str, tuple[tuple[str, str], ...]]] = []
    real_call = Backend.call

    def recording(
        self: Backend, token: str, service: str, method: str, path: str, **kw: Any
    ) -> Any:
        params = tuple(sorted((k, str(v)) for k, v in (kw.get("params") or {}).items()))
        made.append((service, path, params))
        return real_call(self, token, service, method, path, **kw)

    monkeypatch.setattr(Backend, "call", recording)
    manager = web_platform.person(CASE_MANAGER)
    for name, (path, calls) in page_calls(client_id).items():
        made.clear()
        manager.text(path)
        expected = {
            (c.service, c.path, tuple(sorted((k, str(v)) for k, v in c.params.items())))
            for c in calls
        }
        assert sorted(made) == sorted(expected), name
