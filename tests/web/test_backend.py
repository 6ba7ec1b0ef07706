"""The web app's calls to the services, over real sockets to a small HTTP server of the test's
own (and in-process through WsgiTransport): what is sent, how refusals and outages read, and
that a call which may have changed something is never sent twice."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, jsonify, request

from services.web.backend import ApiError, Backend, Caller, PooledTransport
from tests.support.ports import free_port
from tests.support.wsgi_transport import WsgiTransport


@dataclass
class Seen:
    """What the server was sent, one entry a request (the body as text)."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    #: How the next requests are answered: "json", "problem", "empty", "drop" (read the
    #: request, close without answering), "close-after" (answer, then close the connection
    #: without saying so), "slow".
    mode: str = "json"


def _handler(seen: Seen) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            return None

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            split = urlsplit(self.path)
            seen.requests.append(
                {
                    "method": self.command,
                    "path": split.path,
                    "query": parse_qs(split.query, keep_blank_values=True),
                    "headers": dict(self.headers.items()),
                    "body": body,
                    "client_port": self.client_address[1],
                }
            )
            if seen.mode == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if seen.mode == "slow":
                time.sleep(1.0)
            if seen.mode == "empty":
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status, payload = 200, {"ok": True, "n": len(seen.requests)}
            if seen.mode == "problem":
                status = 422
                payload = {
                    "title": "Unprocessable Entity",
                    "detail": "The request was refused.",
                    "errors": {"json": {"starts_at": ["Not a valid datetime."]}},
                }
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            if seen.mode == "close-after":
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_DELETE = _answer

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, Seen]]:
    seen = Seen()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(seen))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def _caller(url: str, timeout: float = 5.0) -> Caller:
    return Caller(Backend({"intake": url}, timeout=timeout), "the-token", "req-1")


def test_calls_one_after_another_share_a_connection_until_it_has_idled_too_long(
    server: tuple[str, Seen],
) -> None:
    """Kept connections are reused, but not one idle longer than the limit (set under the
    services' keep-alive, so no call goes out on a connection the service is closing)."""
    url, seen = server
    transport = PooledTransport(url, 5.0, idle_limit=0.3)
    caller = Caller(Backend({"intake": url}, transports={"intake": transport}), "t")
    for _ in range(3):
        caller.get("intake", "/clients")
    time.sleep(0.5)
    caller.send("intake", "POST", "/clients", {})
    caller.get("intake", "/clients")
    ports = [r["client_port"] for r in seen.requests]
    assert len(set(ports[:3])) == 1
    assert ports[3] != ports[0] and ports[4] == ports[3]


def test_a_call_sends_the_token_request_id_query_and_body(server: tuple[str, Seen]) -> None:
    url, seen = server
    caller = _caller(url + "/api/")  # a service behind a path prefix keeps it
    assert caller.get("intake", "/clients", limit=50, urgent=True, q="Ana Ö", cursor=None) == {
        "ok": True,
        "n": 1,
    }
    caller.send("intake", "POST", "/clients/c-1/notes", {"text": "Seen at home — ok"}, purpose="x")
    get, post = seen.requests
    assert get["method"] == "GET" and get["path"] == "/api/clients"
    assert get["query"] == {"limit": ["50"], "urgent": ["true"], "q": ["Ana Ö"]}
    assert get["headers"]["Authorization"] == "Bearer the-token"
    assert get["headers"]["X-Request-ID"] == "req-1"
    assert post["method"] == "POST" and post["path"] == "/api/clients/c-1/notes"
    assert json.loads(post["body"]) == {"text": "Seen at home — ok"}
    assert post["headers"]["Content-Type"] == "application/json"
    assert post["headers"]["X-Purpose"] == "x"


def test_a_list_parameter_repeats_its_name(server: tuple[str, Seen]) -> None:
    url, seen = server
    _caller(url).get("intake", "/clients", status=["open", "closed"])
    assert seen.requests[0]["query"] == {"status": ["open", "closed"]}


def test_a_refusal_reads_as_the_services_own_words(server: tuple[str, Seen]) -> None:
    url, seen = server
    seen.mode = "problem"
    with pytest.raises(ApiError) as refused:
        _caller(url).send("intake", "POST", "/appointments", {"starts_at": "soon"})
    assert refused.value.status == 422
    assert refused.value.detail == "The request was refused."
    assert refused.value.body["errors"] == {"json": {"starts_at": ["Not a valid datetime."]}}
    # the errors are said once, in plain words, not appended to the detail in the API's terms
    assert refused.value.plain_words == "Enter the start time as a date and time."


def test_no_content_is_none(server: tuple[str, Seen]) -> None:
    url, seen = server
    seen.mode = "empty"
    assert _caller(url).send("intake", "DELETE", "/clients/c-1/notes/n-1") is None


def test_a_connection_the_service_closed_while_idle_is_not_reused(
    server: tuple[str, Seen],
) -> None:
    """gunicorn closes an idle keep-alive connection after a few seconds; the next call, GET
    or POST, goes out on a fresh one rather than failing."""
    url, seen = server
    seen.mode = "close-after"
    caller = _caller(url)
    for n in range(3):
        caller.get("intake", "/clients")
        time.sleep(0.1)  # the server's close has arrived, as after an idle keep-alive timeout
        caller.send("intake", "POST", "/clients", {"n": n})
        time.sleep(0.1)
    assert [r["method"] for r in seen.requests] == ["GET", "POST"] * 3


def test_a_call_that_may_have_changed_something_is_never_sent_twice(
    server: tuple[str, Seen],
) -> None:
    """The service read the request and the connection broke before it answered: a POST may
    have been done, so the person is told the service did not answer and nothing is resent;
    a GET is tried once more."""
    url, seen = server
    seen.mode = "drop"
    caller = _caller(url)
    with pytest.raises(ApiError) as post:
        caller.send("intake", "POST", "/clients", {"given_name": "Ana"})
    assert post.value.status == 503
    assert "did not answer" in post.value.detail and "retry" in post.value.plain_words
    assert [r["method"] for r in seen.requests] == ["POST"]
    for method in ("PUT", "DELETE"):  # idempotent in HTTP, but an audit row or event each here
        with pytest.raises(ApiError):
            caller.send("intake", method, "/case-managers/cm-1", {"team": "north"})
    assert [r["method"] for r in seen.requests] == ["POST", "PUT", "DELETE"]
    with pytest.raises(ApiError) as get:
        caller.get("intake", "/clients")
    assert get.value.status == 503
    assert [r["method"] for r in seen.requests] == ["POST", "PUT", "DELETE", "GET", "GET"]


def test_a_service_nobody_answers_for_is_a_503_naming_it() -> None:
    caller = _caller(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(ApiError) as down:
        caller.get("intake", "/clients")
    assert down.value.status == 503
    assert down.value.detail.startswith("The intake service did not answer (")


def test_a_service_slower_than_the_timeout_is_a_503(server: tuple[str, Seen]) -> None:
    url, seen = server
    seen.mode = "slow"
    with pytest.raises(ApiError) as slow:
        _caller(url, timeout=0.3).send("intake", "POST", "/clients", {})
    assert slow.value.status == 503
    assert "ReadTimeoutError" in slow.value.detail
    assert len(seen.requests) == 1


def test_calls_at_once_each_get_their_own_answer(server: tuple[str, Seen]) -> None:
    url, _ = server
    caller = _caller(url)
    results = caller.gather(
        **{f"c{n}": lambda: caller.get("intake", "/clients") for n in range(20)}
    )
    assert sorted(result["n"] for result in results.values()) == list(range(1, 21))


def test_the_wsgi_transport_sends_what_a_socket_would() -> None:
    app = Flask("echo")

    @app.route("/<path:path>", methods=["GET", "POST"])
    def echo(path: str) -> Any:
        if path == "refuse":
            return jsonify(detail="No.", errors={"json": {"x": ["Bad."]}}), 409
        return jsonify(
            path=request.path,
            query=request.args.to_dict(flat=False),
            body=request.get_json(silent=True),
            token=request.headers.get("Authorization"),
            request_id=request.headers.get("X-Request-ID"),
        )

    backend = Backend(
        {"intake": "http://intake"}, transports={"intake": WsgiTransport(app, "http://intake")}
    )
    caller = Caller(backend, "the-token", "req-2")
    assert caller.get("intake", "/clients", urgent=False, q="Ö") == {
        "path": "/clients",
        "query": {"urgent": ["false"], "q": ["Ö"]},
        "body": None,
        "token": "Bearer the-token",
        "request_id": "req-2",
    }
    assert caller.send("intake", "POST", "/clients", {"a": 1})["body"] == {"a": 1}
    with pytest.raises(ApiError) as refused:
        caller.send("intake", "POST", "/refuse", {})
    assert (refused.value.status, refused.value.detail) == (409, "No.")
    assert refused.value.body["errors"] == {"json": {"x": ["Bad."]}}


def test_what_several_parts_of_a_page_ask_for_once_is_computed_once() -> None:
    """The On call page's list and its banner ask for the same queue from two threads: one
    call (one audited read); a failure reaches both."""
    caller = Caller(Backend({}), "t")
    started, calls = threading.Event(), []

    def slow_queue() -> list[str]:
        calls.append(1)
        started.set()
        time.sleep(0.2)
        return ["alert-1"]

    other: list[Any] = []
    thread = threading.Thread(target=lambda: other.append(caller.once("queue", slow_queue)))
    thread.start()
    started.wait(5)
    assert caller.once("queue", slow_queue) == ["alert-1"]
    thread.join(5)
    assert other == [["alert-1"]] and len(calls) == 1

    def failing() -> None:
        raise ApiError(503, "notifications does not answer")

    for _ in range(2):
        with pytest.raises(ApiError):
            caller.once("down", failing)
    assert Caller(Backend({}), "t").once("queue", lambda: ["fresh"]) == ["fresh"]  # per page
