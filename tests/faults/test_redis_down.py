"""Redis goes away under a running server: tenant reads and writes that need no queue keep
working (tenant resolution and access caches fall back to the database, throttles fail
open), /readyz says degraded, Stripe webhooks are still stored, and once Redis is back the
stored events are queued again and processed, once."""

import json
import subprocess
import sys
import uuid

import requests

from accounts.models import Role
from billing.models import EventState, WebhookEvent
from billing.services.subscriptions import billing_customer_ready
from tenants.services import tenant_domain_for
from tests.factories import make_member, make_organization, make_user
from tests.support.faults import OwnRedis
from tests.support.processes import REPO, start_celery_worker, subprocess_env, wait_until
from tests.support.webhooks import SECRET, URL, signed

PASSWORD = "a-long-password-1"  # noqa: S105 - test account


def _post_event(server_url: str, event: dict) -> requests.Response:
    body = json.dumps(event)
    return requests.post(
        server_url + URL,
        data=body.encode(),
        headers={
            "Host": "localhost",
            "Content-Type": "application/json",
            "Stripe-Signature": signed(body),
        },
        timeout=10,
    )


def _customer_updated(customer_id: str) -> dict:
    return {
        "id": f"evt_fault_{uuid.uuid4().hex[:12]}",
        "object": "event",
        "type": "customer.updated",
        "created": 1_900_000_000,
        "livemode": False,
        "api_version": "2026-10-28.endive",
        "data": {"object": {"id": customer_id, "object": "customer"}},
    }


def test_the_api_serves_without_redis_and_webhooks_wait_for_it(
    committed: None, own_redis: OwnRedis, start_server
) -> None:
    tenant = make_organization("acme")
    user = make_user(password=PASSWORD)
    make_member(tenant, Role.ADMIN, user=user)
    account = billing_customer_ready(tenant_id=tenant.pk)
    tag = uuid.uuid4().hex[:8]
    env = {
        "REDIS_URL": own_redis.url,
        "CELERY_BROKER_URL": own_redis.url,
        "CELERY_QUEUE": f"fault-redis-{tag}",
        "CACHE_KEY_PREFIX": f"fault-redis-{tag}",
        "STRIPE_WEBHOOK_SECRETS": SECRET,
    }
    server = start_server(**env)
    host = tenant_domain_for("acme")
    auth = server.login(host, user.email, PASSWORD)
    assert server.get("/api/v1/projects/", host, auth=auth).status_code == 200

    own_redis.kill()

    assert server.get("/api/v1/projects/", host, auth=auth).status_code == 200
    created = server.post("/api/v1/projects/", host, auth=auth, json={"name": "no-redis"})
    assert created.status_code == 201, created.text
    listed = server.get("/api/v1/projects/", host, auth=auth).json()
    assert "no-redis" in json.dumps(listed)
    assert server.login(host, user.email, PASSWORD) is not None  # throttles fail open
    ready = server.get("/readyz", "localhost")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    event = _customer_updated(account.stripe_customer_id or "")
    assert _post_event(server.url, event).status_code == 200
    stored = WebhookEvent.objects.get(stripe_event_id=event["id"])
    assert stored.state == EventState.PENDING

    own_redis.start()  # same port
    worker = start_celery_worker(subprocess_env(**env), str(REPO))
    try:
        subprocess.run(  # noqa: S603 - the operator's replay: queue what is still pending
            [sys.executable, "manage.py", "billing_replay_events", "--enqueue"],
            cwd=REPO,
            env=subprocess_env(**env),
            check=True,
            capture_output=True,
        )
        wait_until(
            lambda: WebhookEvent.objects.get(pk=stored.pk).state == EventState.DONE,
            "the stored event to be processed after Redis came back",
        )
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    stored.refresh_from_db()
    assert stored.attempts == 1
    assert WebhookEvent.objects.filter(stripe_event_id=event["id"]).count() == 1
