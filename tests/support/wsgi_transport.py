"""A service's real WSGI app behind the web app's Backend, without sockets: the web tests serve
the four services this way (``Backend(..., transports=...)``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import urllib3
from werkzeug.test import EnvironBuilder, run_wsgi_app

from services.web.backend import Reply


class WsgiTransport:
    """A service's WSGI app called in-process, as a socket would reach it (the same request
    and answer, no sockets): the web tests serve the real services this way."""

    def __init__(self, app: Callable[..., Any], base_url: str = "http://localhost") -> None:
        self.app = app
        self.base_url = base_url

    def send(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> Reply:
        path, _, query = target.partition("?")
        builder = EnvironBuilder(
            path=path,
            base_url=self.base_url,
            query_string=query,
            method=method,
            headers=dict(headers),
            data=body or b"",
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        app_iter, status, response_headers = run_wsgi_app(self.app, environ, buffered=True)
        try:
            content = b"".join(app_iter)
        finally:
            getattr(app_iter, "close", lambda: None)()
        code, _, reason = status.partition(" ")
        return Reply(
            int(code), reason, urllib3.HTTPHeaderDict(response_headers.to_wsgi_list()), content
        )

    def close(self) -> None:
        return None
