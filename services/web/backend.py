"""Calls to the four services' public APIs with the signed-in person's own token: one urllib3
connection pool per service (keep-alive), the calls of one page made concurrently.

urllib3 rather than httpx: a page makes three or four calls, and httpx's own work was about a
millisecond of CPU a call, twice urllib3's (with the JSON), and half of the web app's CPU a page
(bench/web_pages.py). Tests serve a service from its real WSGI app in-process through
``transports`` (any object with ``send``: tests/support/wsgi_transport.py)."""

from __future__ import annotations

import json as jsonlib
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError
from urllib3.util import parse_url

from services.web.refusals import plain_problem

#: Threads for the pages' API calls, shared by the requests of one web worker: a page makes
#: its calls at once (the record four, the team page four), and a gunicorn worker serves four
#: requests at a time. With fewer, a page's last calls wait for its first to finish (8 made the
#: record page, then ten calls, two calls deep). Idle threads cost next to nothing.
PAGE_CONCURRENCY = 32


class ApiError(Exception):
    """An API said no (problem+json) or could not be reached; ``detail`` is meant for people."""

    def __init__(self, status: int, detail: str, *, body: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.body = dict(body or {})

    @property
    def is_outage(self) -> bool:
        """The service failed or could not be reached (not a refusal of this request)."""
        return self.status >= 500 or self.status == 0

    @property
    def plain_words(self) -> str:
        """What to tell the person: the API's own detail, or what to do about an outage. A
        validation refusal's detail repeats its ``errors`` in the API's terms ("Invalid input:
        starts_at (json): Not a valid datetime."): those are said in plain words instead, once."""
        if self.status in (502, 503, 504) or self.status == 0:
            return f"{self.detail} The service is unavailable right now: please retry in a moment."
        if self.status == 422:
            return plain_problem(self.body) or self.detail
        return self.detail


@dataclass(frozen=True)
class Reply:
    """A service's answer: status, headers (looked up without regard to case) and body."""

    status: int
    reason: str
    headers: urllib3.HTTPHeaderDict
    content: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.content)


class Transport(Protocol):
    """Sends one request to one service; raises :class:`Unreachable` if it cannot."""

    def send(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> Reply: ...

    def close(self) -> None: ...


class Unreachable(Exception):
    """The service could not be reached or did not answer in time; the message names how."""


#: A kept connection idle longer than this is closed rather than reused: under the services'
#: keep-alive (gunicorn's, 5 s: services/cli/serve.py), so the web app never sends a request
#: on a connection the service is closing at that very moment (a form sent then would fail).
IDLE_LIMIT = 4.0


class _FreshConnections:
    """A urllib3 pool that notes when each connection went idle and closes one idle longer
    than ``idle_limit`` as it is taken out (urllib3 then opens a new one)."""

    idle_limit = IDLE_LIMIT

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        since = getattr(conn, "casehub_idle_since", None)
        if since is not None and time.monotonic() - since > self.idle_limit:
            conn.close()
        return conn

    def _put_conn(self, conn: Any) -> None:
        if conn is not None:
            conn.casehub_idle_since = time.monotonic()
        super()._put_conn(conn)  # type: ignore[misc]


class _FreshHttpPool(_FreshConnections, urllib3.HTTPConnectionPool):
    pass


class _FreshHttpsPool(_FreshConnections, urllib3.HTTPSConnectionPool):
    pass


class PooledTransport:
    """HTTP/1.1 to one service over a pool of keep-alive connections (one per concurrent call;
    a worker's page threads and request threads together never need more than are kept). A
    connection idle past :data:`IDLE_LIMIT`, or that the service closed, is not reused; a
    refused or reset connection is retried once for a call that changes nothing (GET, HEAD),
    never for one that might have changed something."""

    def __init__(self, base_url: str, timeout: float, *, idle_limit: float = IDLE_LIMIT) -> None:
        url = parse_url(base_url)
        self._prefix = (url.path or "").rstrip("/")
        secure = url.scheme == "https"
        self._pool = (_FreshHttpsPool if secure else _FreshHttpPool)(
            url.host or "localhost",
            url.port or (443 if secure else 80),
            maxsize=2 * PAGE_CONCURRENCY,
            block=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            # Only a GET or HEAD is sent again after a broken connection: urllib3 would also
            # resend a PUT or DELETE (idempotent in HTTP), but here one may write an audit row
            # or raise an event, which must not happen twice.
            retries=urllib3.Retry(
                total=1,
                connect=1,
                read=1,
                redirect=0,
                status=0,
                other=0,
                allowed_methods=frozenset({"GET", "HEAD"}),
                raise_on_redirect=False,
            ),
        )
        self._pool.idle_limit = idle_limit

    def send(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> Reply:
        try:
            response = self._pool.urlopen(
                method,
                self._prefix + target,
                body=body,
                headers=dict(headers),
                redirect=False,
                preload_content=True,
            )
        except MaxRetryError as error:
            raise Unreachable(type(error.reason or error).__name__) from None
        except (Urllib3Error, OSError) as error:
            raise Unreachable(type(error).__name__) from None
        return Reply(response.status, response.reason or "", response.headers, response.data)

    def close(self) -> None:
        self._pool.close()


def _error_from(reply: Reply) -> ApiError:
    try:
        body = reply.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    detail = str(body.get("detail") or body.get("title") or reply.reason)
    return ApiError(reply.status, detail, body=body)


def _query_value(value: Any) -> str:
    """A query parameter as the services read it: booleans in JSON's words."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def query_string(params: Mapping[str, Any] | None) -> str:
    """``?a=1&b=2`` for the parameters (a list or tuple repeats its name), or nothing."""
    if not params:
        return ""
    pairs = []
    for name, value in params.items():
        for each in value if isinstance(value, list | tuple) else (value,):
            pairs.append((name, _query_value(each)))
    return "?" + urlencode(pairs)


@dataclass
class Backend:
    """The services' base URLs and a transport each; ``transports`` lets tests serve a service
    from its real WSGI app in-process instead of over a socket."""

    urls: Mapping[str, str]
    timeout: float = 10.0
    transports: Mapping[str, Transport] | None = None

    def __post_init__(self) -> None:
        given = self.transports or {}
        self._transports: dict[str, Transport] = {
            name: given.get(name) or PooledTransport(url, self.timeout)
            for name, url in self.urls.items()
        }
        self._pool = ThreadPoolExecutor(PAGE_CONCURRENCY, thread_name_prefix="web-api")

    def _send(
        self,
        service: str,
        method: str,
        path: str,
        headers: dict[str, str],
        params: Mapping[str, Any] | None,
        body: bytes | None,
        request_id: str | None,
    ) -> Reply:
        if request_id:
            headers["X-Request-ID"] = request_id
        try:
            reply = self._transports[service].send(
                method, path + query_string(params), headers, body
            )
        except Unreachable as error:
            raise ApiError(503, f"The {service} service did not answer ({error}).") from None
        if reply.status >= 400:
            raise _error_from(reply)
        return reply

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
        body = None
        if json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        reply = self._send(service, method, path, headers, params, body, request_id)
        if reply.status == 204 or not reply.content:
            return None
        return reply.json()

    def download(
        self,
        token: str,
        service: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> Reply:
        """A document (a report as PDF, XLSX or CSV) as the service sent it, for passing on."""
        headers = {"Authorization": f"Bearer {token}"}
        return self._send(service, "GET", path, headers, params, None, request_id)

    def submit(self, call: Callable[[], Any]) -> Future[Any]:
        """Start a call on the page threads (its result is waited for later)."""
        return self._pool.submit(call)

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
        for transport in self._transports.values():
            transport.close()


class Caller:
    """The backend bound to one person's token and request id, as a page uses it."""

    def __init__(self, backend: Backend, token: str, request_id: str | None = None) -> None:
        self.backend = backend
        self.token = token
        self.request_id = request_id
        self._once: dict[str, Future[Any]] = {}
        self._once_lock = threading.Lock()

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once for this person's page however many of its parts ask, from any
        thread (the banner beside a page listing the same alerts): one call, one audited read.
        Its error, if it fails, is raised to each of them."""
        with self._once_lock:
            future = self._once.get(key)
            first = future is None
            if future is None:
                future = self._once[key] = Future()
        if first:
            try:
                future.set_result(compute())
            except BaseException as error:
                future.set_exception(error)
        return future.result()

    def get(self, service: str, path: str, **params: Any) -> Any:
        clean = {key: value for key, value in params.items() if value not in (None, "")}
        return self.backend.call(
            self.token, service, "GET", path, params=clean, request_id=self.request_id
        )

    def get_or_none(self, service: str, path: str, **params: Any) -> Any:
        """What ``get`` answers, or None where the service answers 404 (nothing there yet, or
        nothing of it for this person); any other refusal or failure is raised."""
        try:
            return self.get(service, path, **params)
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def send(
        self,
        service: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        purpose: str | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """``purpose``: the person's stated reason, sent as ``X-Purpose`` (the audit keeps it).
        ``idempotency_key``: the form's, so the same form sent twice is done once."""
        headers = {"X-Purpose": purpose} if purpose else {}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return self.backend.call(
            self.token,
            service,
            method,
            path,
            json=body,
            request_id=self.request_id,
            extra_headers=headers or None,
        )

    def download(self, service: str, path: str, **params: Any) -> Reply:
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
