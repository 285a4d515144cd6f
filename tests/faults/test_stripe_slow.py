"""Stripe slow: every call gives up after STRIPE_TIMEOUT_SECONDS, the API answers a clear 503
payment_provider_unavailable, the customer task retries later, and the answer Stripe sent
too late never turns into a second customer. (Stripe unreachable: tests/billing/test_customers.py.
A worker killed mid-task: tests/billing/webhooks/test_worker.py.)"""

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from celery.exceptions import Retry

from accounts.models import Role
from billing import gateway
from billing.errors import PaymentProviderUnavailable
from billing.models import BillingAccount
from billing.services.catalog import catalog_sync_to_stripe
from billing.tasks import billing_customer_create
from tests.support.billing import stripe_sdk
from tests.support.processes import wait_until


class DelayingProxy:
    """Forwards to the emulator (so Stripe does act), then holds the answer `delay` seconds."""

    def __init__(self, upstream: str) -> None:
        proxy = self
        self.delay = 0.0
        self.forwarded: list[str] = []  # as received
        self.answered = 0  # Stripe (the emulator) has acted on this many

        class Handler(BaseHTTPRequestHandler):
            def _relay(self) -> None:
                proxy.forwarded.append(f"{self.command} {self.path.split('?')[0]}")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = requests.request(
                    self.command, upstream + self.path, data=body, headers=headers, timeout=10
                )
                proxy.answered += 1
                time.sleep(proxy.delay)
                try:
                    self.send_response(answer.status_code)
                    for key in ("Content-Type", "Request-Id", "Idempotency-Key"):
                        if key in answer.headers:
                            self.send_header(key, answer.headers[key])
                    self.send_header("Content-Length", str(len(answer.content)))
                    self.end_headers()
                    self.wfile.write(answer.content)
                except OSError:
                    pass  # the client gave up waiting: that is the point

            do_GET = do_POST = do_DELETE = _relay  # noqa: N815

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False  # never wait for a held answer on close
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_stripe(stripe_emulator, settings) -> Iterator[DelayingProxy]:
    proxy = DelayingProxy(stripe_emulator.url)
    settings.STRIPE_API_BASE = proxy.url
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    settings.STRIPE_MAX_NETWORK_RETRIES = 1
    gateway.reset_client()
    yield proxy
    proxy.stop()
    settings.STRIPE_API_BASE = stripe_emulator.url
    gateway.reset_client()


def _customers_of(slug: str) -> list[str]:
    customers = stripe_sdk().v1.customers.list({"limit": 100})
    return [
        c.id for c in customers.data if c.to_dict().get("metadata", {}).get("tenant_slug") == slug
    ]


def test_a_slow_stripe_is_a_clear_503_within_the_timeout(
    make_tenant, make_member, client_for, slow_stripe: DelayingProxy
) -> None:
    tenant = make_tenant("acme")
    owner = make_member(tenant, role=Role.OWNER)
    catalog_sync_to_stripe()
    billing_customer_create.apply(kwargs={"tenant_id": tenant.pk}).get()
    slow_stripe.delay = 3.0  # well past STRIPE_TIMEOUT_SECONDS

    response = client_for(tenant, owner).post(
        "/api/v1/billing/checkout/", {"price": "starter-monthly"}, format="json"
    )

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "payment_provider_unavailable"
    # Stripe was asked (checkout first looks for a live subscription) and waited on; no
    # session was made behind the 503.
    assert "GET /v1/subscriptions" in slow_stripe.forwarded
    assert "POST /v1/checkout/sessions" not in slow_stripe.forwarded


def test_the_customer_task_retries_later_and_a_late_answer_makes_no_second_customer(
    make_tenant, slow_stripe: DelayingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = make_tenant("acme")
    slow_stripe.delay = 3.0
    scheduled: list[dict] = []

    def retry(**kwargs: object) -> None:
        # An eager run would retry at once, in a loop: record the retry a worker would
        # schedule instead.
        scheduled.append(kwargs)
        raise Retry()

    monkeypatch.setattr(billing_customer_create, "retry", retry)

    first = billing_customer_create.apply(kwargs={"tenant_id": tenant.pk})

    assert first.state == "RETRY"
    assert isinstance(scheduled[0]["exc"], PaymentProviderUnavailable)
    # Later, with backoff and jitter (the jittered delay may round down to 0 on a first retry).
    assert isinstance(scheduled[0]["countdown"], int)
    assert BillingAccount.objects.get(tenant=tenant).stripe_customer_id is None
    # Stripe did make the customer (twice asked: the SDK's own retry), but the answers were late.
    assert slow_stripe.forwarded.count("POST /v1/customers") == 2
    wait_until(lambda: slow_stripe.answered == len(slow_stripe.forwarded), "Stripe to act")
    assert len(_customers_of("acme")) == 1

    slow_stripe.delay = 0.0
    billing_customer_create.apply(kwargs={"tenant_id": tenant.pk}).get()

    account = BillingAccount.objects.get(tenant=tenant)
    assert _customers_of("acme") == [account.stripe_customer_id]
