"""Calls to the four services' public APIs with the signed-in person's own token: one httpx
client per service (keep-alive pool), the calls of one page made concurrently."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

#: Threads for the pages' API calls, shared by the requests of one web worker: the client
#: record makes ten calls at once, and a gunicorn worker serves four requests at a time. With
#: fewer, a page's last calls wait for its first to finish (8 made the record page two calls
#: deep). Idle threads cost next to nothing.
PAGE_CONCURRENCY = 32


class ApiError(Exception):
    """An API said no (problem+json) or could not be reached; ``detail`` is meant for people."""

    def __init__(self, status: int, detail: str, *, body: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.body = dict(body or {})

    @property
    def plain_words(self) -> str:
        """What to tell the person: the API's own detail, or what to do about an outage."""
        if self.status in (502, 503, 504) or self.status == 0:
            return f"{self.detail} The service is unavailable right now: please retry in a moment."
        return self.detail


def _error_from(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    detail = str(body.get("detail") or body.get("title") or response.reason_phrase)
    errors = body.get("errors")
    if isinstance(errors, dict) and errors:
        detail += " " + "; ".join(f"{field}: {_flat(message)}" for field, message in errors.items())
    return ApiError(response.status_code, detail, body=body)


def _flat(message: Any) -> str:
    if isinstance(message, list):
        return ", ".join(_flat(part) for part in message)
    if isinstance(message, dict):
        return "; ".join(f"{key}: {_flat(value)}" for key, value in message.items())
    return str(message)


@dataclass
class Backend:
    """The services' base URLs and one client each; ``transports`` lets tests serve a service
    from its real WSGI app in-process instead of over a socket."""

    urls: Mapping[str, str]
    timeout: float = 10.0
    transports: Mapping[str, httpx.BaseTransport] | None = None

    def __post_init__(self) -> None:
        self._clients = {
            name: httpx.Client(
                base_url=url,
                timeout=self.timeout,
                transport=(self.transports or {}).get(name),
                limits=httpx.Limits(max_keepalive_connections=20, max_connections=50),
            )
            for name, url in self.urls.items()
        }
        self._pool = ThreadPoolExecutor(PAGE_CONCURRENCY, thread_name_prefix="web-api")

    def call(
        self,
        token: str,
        service: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Any:
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            **(extra_headers or {}),
        }
        if request_id:
            headers["X-Request-ID"] = request_id
        try:
            response = self._clients[service].request(
                method, path, params=params, json=json, headers=headers
            )
        except httpx.HTTPError as error:
            raise ApiError(
                503, f"The {service} service did not answer ({type(error).__name__})."
            ) from None
        if response.status_code >= 400:
            raise _error_from(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def download(
        self,
        token: str,
        service: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> httpx.Response:
        """A document (a report as PDF, XLSX or CSV) as the service sent it, for passing on."""
        headers = {"Authorization": f"Bearer {token}"}
        if request_id:
            headers["X-Request-ID"] = request_id
        try:
            response = self._clients[service].get(path, params=params, headers=headers)
        except httpx.HTTPError as error:
            raise ApiError(
                503, f"The {service} service did not answer ({type(error).__name__})."
            ) from None
        if response.status_code >= 400:
            raise _error_from(response)
        return response

    def gather(self, calls: Mapping[str, Callable[[], Any]]) -> dict[str, Any]:
        """Run a page's calls at once; each result is its value or the ApiError it raised."""
        futures = {key: self._pool.submit(call) for key, call in calls.items()}
        results: dict[str, Any] = {}
        for key, future in futures.items():
            try:
                results[key] = future.result()
            except ApiError as error:
                results[key] = error
        return results

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        for client in self._clients.values():
            client.close()


class Caller:
    """The backend bound to one person's token and request id, as a page uses it."""

    def __init__(self, backend: Backend, token: str, request_id: str | None = None) -> None:
        self.backend = backend
        self.token = token
        self.request_id = request_id

    def get(self, service: str, path: str, **params: Any) -> Any:
        clean = {key: value for key, value in params.items() if value not in (None, "")}
        return self.backend.call(
            self.token, service, "GET", path, params=clean, request_id=self.request_id
        )

    def send(
        self,
        service: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        purpose: str | None = None,
    ) -> Any:
        """``purpose``: the person's stated reason, sent as ``X-Purpose`` (the audit keeps it)."""
        return self.backend.call(
            self.token,
            service,
            method,
            path,
            json=body,
            request_id=self.request_id,
            extra_headers={"X-Purpose": purpose} if purpose else None,
        )

    def download(self, service: str, path: str, **params: Any) -> httpx.Response:
        clean = {key: value for key, value in params.items() if value not in (None, "")}
        return self.backend.download(
            self.token, service, path, params=clean, request_id=self.request_id
        )

    def gather(self, **calls: Callable[[], Any]) -> dict[str, Any]:
        return self.backend.gather(calls)

    def items(self, service: str, path: str, *, limit: int = 200, **params: Any) -> list[Any]:
        """Every item of a paged list, following cursors (pages of ``limit``)."""
        first = self.get(service, path, limit=limit, **params)
        return self.rest(service, path, first, limit=limit, **params)

    def rest(
        self,
        service: str,
        path: str,
        page: Mapping[str, Any],
        *,
        limit: int = 200,
        **params: Any,
    ) -> list[Any]:
        """A page's items and those of the pages after it at ``path`` (an aggregate answer's
        first page of a list continues at the list's own endpoint)."""
        found = list(page["items"])
        cursor = page.get("next_cursor")
        while cursor:
            page = self.get(service, path, limit=limit, cursor=cursor, **params)
            found.extend(page["items"])
            cursor = page.get("next_cursor")
        return found
