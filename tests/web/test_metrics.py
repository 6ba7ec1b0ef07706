"""The web app reports its own figures like every other process: request durations by page and
status, so the server-error alert covers the pages people use."""

from __future__ import annotations

from typing import Any


def test_the_web_app_times_its_pages_and_serves_metrics(offline_app: Any) -> None:
    client = offline_app.test_client()
    assert client.get("/sign-in").status_code in (200, 302)
    scraped = client.get("/metrics")
    assert scraped.status_code == 200
    text = scraped.get_data(as_text=True)
    assert "casehub_http_request_duration_seconds" in text
    assert 'service="web"' in text
