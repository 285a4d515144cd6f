"""The Stripe emulator's own tests: a webhook receiver, the events sent, refused calls, and
the objects served compared with Stripe's own examples."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import stripe

from stripe_emulator import fixtures

DAY = 86400
# Stripe's own example objects: the shared copy when present, else the vendored one.
FIXTURES = fixtures.locate_fixtures() or fixtures.VENDORED
REFERENCE: dict[str, Any] = json.loads(FIXTURES.read_text())["resources"]


class Receiver:
    """A local HTTP endpoint recording webhook deliveries; can fail the first N of them."""

    def __init__(self, fail_first: int = 0) -> None:
        self.deliveries: list[tuple[str, bytes]] = []  # (Stripe-Signature, body)
        self.statuses: list[int] = []
        self.fail_first = fail_first
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.cond:
                    status = 500 if len(receiver.statuses) < receiver.fail_first else 200
                    receiver.statuses.append(status)
                    if status == 200:
                        receiver.deliveries.append((self.headers["Stripe-Signature"], body))
                    receiver.cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhooks"

    def types(self) -> list[str]:
        with self.cond:
            return [json.loads(body)["type"] for _, body in self.deliveries]

    def wait_for(self, predicate: Callable[[Receiver], bool], timeout: float = 10) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: predicate(self), timeout), self.statuses


def event_types(since: int = 0) -> list[str]:
    return [e.type for e in stripe.Event.list(limit=100, created={"gte": since}).auto_paging_iter()]


def refused(call: Any) -> stripe.InvalidRequestError:
    """`call()` must be refused as a bad request (400); returns Stripe's error."""
    with pytest.raises(stripe.InvalidRequestError) as err:
        call()
    assert err.value.http_status == 400
    return err.value


def missing_keys(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Fixture keys absent from `actual`, descending into sub-objects both sides have."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = [f"{path}.{k}" for k in expected if k not in actual]
        for key, value in expected.items():
            if key in actual and key not in ("metadata", "data"):
                out += missing_keys(value, actual[key], f"{path}.{key}")
        if (
            "data" in expected
            and isinstance(actual.get("data"), list)
            and actual["data"]
            and isinstance(expected["data"], list)
            and expected["data"]
        ):
            out += missing_keys(expected["data"][0], actual["data"][0], f"{path}.data[0]")
        elif isinstance(expected.get("data"), dict) and isinstance(actual.get("data"), dict):
            # An event: data.object is of any type (checked as its own kind), so keys only.
            out += [f"{path}.data.{k}" for k in expected["data"] if k not in actual["data"]]
        return out
    return []


def raw(url: str, path: str) -> dict[str, Any]:
    """The JSON exactly as served (the SDK's objects would hide nulls and key order)."""
    reply = requests.get(url + path, auth=("sk_test_shapes", ""), timeout=5)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())
