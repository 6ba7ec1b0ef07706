"""A test's service API whose port another server took between choosing and binding is started
again on a new port, and is never mistaken for the server that holds the old one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.backends import Backend
from tests.support.processes import ProcessPlatform


class _Impostor(BaseHTTPRequestHandler):
    """Answers /healthz as an API would, and 404 to anything else."""

    def do_GET(self) -> None:
        ok = self.path == "/healthz"
        body = b'{"status": "ok", "service": "intake"}' if ok else b"{}"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def platform(backend: Backend, data_dir: Path) -> Iterator[ProcessPlatform]:
    running = ProcessPlatform(
        backend.broker_url, {"intake": backend.new_database("intake", data_dir)}, data_dir
    )
    yield running
    running.stop()


@pytest.mark.slow
def test_an_api_whose_port_was_taken_starts_on_a_new_one(platform: ProcessPlatform) -> None:
    taken = platform.ports["intake"]
    impostor = ThreadingHTTPServer(("127.0.0.1", taken), _Impostor)
    threading.Thread(target=impostor.serve_forever, daemon=True).start()
    try:
        assert platform.answers("intake") and not platform.listens("intake")
        platform.start()
        assert platform.ports["intake"] != taken
        assert platform.listens("intake")
        assert platform.call("intake", "GET", "/readyz", ("admin-1", "admin")).status_code == 200
    finally:
        impostor.shutdown()
        impostor.server_close()
