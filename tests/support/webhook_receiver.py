"""A real webhook receiver on loopback for outbound webhook tests (saas.webhooks_out): an HTTP
server thread that records every request and answers as a test scripts it (a status, a
redirect, a slow answer, a huge body), and helpers that register an endpoint over the API
and verify what arrived with the Standard Webhooks reference library."""

import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema
from standardwebhooks import Webhook


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0  # seconds before answering (a slow receiver)
    huge: int = 0  # answer with this many bytes, sent until the client stops reading
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Answers scripted answers in order (`answer(...)`), then `default`; over TLS with
    `tls` (a server context, tests/support/tls.py)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.scheme = "https" if tls else "http"
        self.received: list[Received] = []
        self._script: list[Answer] = []
        self.default = Answer()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    answer = receiver._script.pop(0) if receiver._script else receiver.default
                if answer.delay:
                    receiver._stopping.wait(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    size = answer.huge or len(answer.body)
                    self.send_header("Content-Length", str(size))
                    self.end_headers()
                    if answer.huge:
                        chunk = b"x" * 65536
                        for _ in range(answer.huge // len(chunk)):
                            self.wfile.write(chunk)
                    else:
                        self.wfile.write(answer.body)
                except OSError:
                    pass  # the client stopped reading (as it should, past its limit)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "Receiver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def answer(self, *answers: Answer) -> None:
        with self._lock:
            self._script.extend(answers)

    def wait_for(self, count: int, *, timeout: float = 30.0) -> list[Received]:
        """The first `count` requests, once that many arrived (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received[:count])
            time.sleep(0.05)
        raise AssertionError(f"{count} requests expected, {len(self.received)} arrived")


def verified(secret: str, request: Received) -> Any:
    """The request's payload, verified with the Standard Webhooks reference library."""
    return Webhook(secret).verify(request.body, request.headers)


def documented_body(schema: dict, event_type: str) -> dict:
    """The OpenAPI document's schema of the body an event type's receiver gets."""
    operation = schema["webhooks"][event_type]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    return {**body, "components": schema["components"]}


def undocumented(schema: dict, body: Any) -> list[str]:
    """What in a received body (`{"type", "timestamp", "data"}`) the document does not say:
    schema errors, and `data` fields other than the documented ones."""
    documented = documented_body(schema, body["type"])
    validator = jsonschema.Draft202012Validator(documented)
    errors = [error.message for error in validator.iter_errors(body)]
    component = schema["components"]["schemas"][documented["$ref"].rsplit("/", 1)[1]]
    data_ref = component["properties"]["data"]["$ref"].rsplit("/", 1)[1]
    fields = set(schema["components"]["schemas"][data_ref]["properties"])
    if set(body["data"]) != fields:
        errors.append(f"data fields {sorted(body['data'])} are not {sorted(fields)}")
    return errors


def register_endpoint(
    org: Any, url: str, event_types: list[str] | None = None, **fields: Any
) -> dict[str, Any]:
    """Registers an endpoint over the API as `org`'s member; the answer (with its secret)."""
    return dict(
        org.ok(
            "post",
            "webhook-endpoints/",
            {"url": url, "event_types": event_types or ["project.*", "task.*"], **fields},
        )
    )


def until(predicate: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
