"""Fixtures for the Stripe emulator tests: the emulator, an SDK pointed at it, a webhook sink."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from stripe_emulator import pytest_plugin

# The plugin's fixtures, made visible here (pytest_plugins is only allowed in the root conftest).
stripe_emulator = pytest_plugin.stripe_emulator
stripe_client = pytest_plugin.stripe_client

DAY = 86400


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


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.httpd.shutdown()
    rec.httpd.server_close()


@pytest.fixture
def make_receiver() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(**kwargs: Any) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for rec in made:
        rec.httpd.shutdown()
        rec.httpd.server_close()


@pytest.fixture
def plans() -> dict[str, Any]:
    """A product with monthly Basic ($10) / Pro ($30) and yearly Pro ($300) prices."""
    product = stripe.Product.create(name="SaaS plan")

    def price(amount: int, key: str, interval: str = "month") -> stripe.Price:
        return stripe.Price.create(
            product=product.id,
            currency="usd",
            unit_amount=amount,
            recurring={"interval": interval},
            lookup_key=key,
        )

    return {
        "product": product,
        "basic": price(1000, "basic_monthly"),
        "pro": price(3000, "pro_monthly"),
        "pro_yearly": price(30000, "pro_yearly", "year"),
    }


def event_types(since: int = 0) -> list[str]:
    return [e.type for e in stripe.Event.list(limit=100, created={"gte": since}).auto_paging_iter()]
