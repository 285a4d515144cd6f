"""Stripe hangs (accepts the connection, never answers) under a running gunicorn with the
project's own settings: the billing calls that need Stripe answer 503 with Retry-After in the
one error format well before gunicorn's worker timeout, the worker is never killed for it,
and once Stripe answers again the same process serves them normally. (A slow Stripe called
in-process: test_stripe_slow.py; the timeouts' sum against the worker's: test_timeouts.py.)"""

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from accounts.models import Role
from billing.services.subscriptions import billing_customer_ready
from saas.observability import gunicorn_conf
from tenants.services import tenant_domain_for
from tests.factories import make_member, make_organization, make_user
from tests.support.billing import subscribe_paid
from tests.support.faults import HangingProxy, assert_unavailable, production_gunicorn

PASSWORD = "a-long-password-1"  # noqa: S105 - test account


@pytest.fixture
def hanging_stripe(stripe_emulator) -> Iterator[HangingProxy]:
    proxy = HangingProxy(int(urlsplit(stripe_emulator.url).port or 0))
    yield proxy
    proxy.stop()


def test_a_hanging_stripe_is_a_503_before_the_worker_timeout_and_kills_no_worker(
    committed: None, hanging_stripe: HangingProxy, start_server, tmp_path: Path
) -> None:
    subscribed = make_organization("acme")
    fresh = make_organization("beta")  # no subscription yet: it may check out
    owner = make_user(password=PASSWORD)
    for tenant in (subscribed, fresh):
        make_member(tenant, Role.OWNER, user=owner)
    subscribe_paid(subscribed, "starter-monthly")
    billing_customer_ready(tenant_id=fresh.pk)
    env = production_gunicorn(
        tmp_path,
        STRIPE_API_BASE=hanging_stripe.url,
        CACHE_KEY_PREFIX=f"fault-stripe-{tmp_path.name}",
        CELERY_QUEUE=f"fault-stripe-{tmp_path.name}",
    )
    server = start_server(**env)
    worker_timeout = gunicorn_conf.timeout
    calls = {
        "preview-change": (subscribed, "/api/v1/billing/subscription/preview-change/"),
        "checkout": (fresh, "/api/v1/billing/checkout/"),
    }
    auth = {
        name: server.login(tenant_domain_for(tenant.slug), owner.email, PASSWORD)
        for name, (tenant, _) in calls.items()
    }

    def call(name: str) -> tuple[requests.Response, float]:
        tenant, path = calls[name]
        started = time.monotonic()
        response = requests.post(
            server.url + path,
            headers={"Host": tenant_domain_for(tenant.slug)},
            json={"price": "pro-monthly"},
            auth=auth[name],
            # Well past the worker timeout: a worker killed for hanging answers (gunicorn's
            # bare 500) instead of the client giving up first.
            timeout=worker_timeout + 15,
        )
        return response, time.monotonic() - started

    assert call("preview-change")[0].status_code == 200  # through the proxy while it relays

    hanging_stripe.hanging = True
    seen = {name: call(name) for name in calls}
    hanging_stripe.hanging = False

    log = (tmp_path / "gunicorn.log").read_text()
    outcome = {name: (r.status_code, round(elapsed, 1)) for name, (r, elapsed) in seen.items()}
    assert "WORKER TIMEOUT" not in log, outcome
    for response, elapsed in seen.values():
        assert_unavailable(response, "payment_provider_unavailable")
        assert elapsed < worker_timeout, outcome
    assert hanging_stripe.accepted_while_hanging >= 2  # Stripe was asked, and waited on

    # Stripe answers again: the same process serves the same calls.
    assert call("preview-change")[0].status_code == 200
    assert call("checkout")[0].status_code == 201
    assert server.process.poll() is None
