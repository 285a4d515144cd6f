"""Outbound webhooks while Redis, the broker, is unreachable (the issue's "Redis or PostgreSQL
briefly down (the outbox keeps events)"): a task created over the API still answers 201, its
event and deliveries are stored and the outbox keeps the task that sends them; once Redis is
back, a worker delivers to every subscribed endpoint, once each. Redis here is a server of
the test's own (tests/support/faults.OwnRedis), killed and started again on the same port."""

import uuid

import pytest

from accounts.models import Role
from billing.models import BillingAccount, Plan
from saas.outbox.models import OutboxMessage
from saas.webhooks_out.models import WebhookDelivery
from saas.webhooks_out.services import FAN_OUT_TASK
from tenants.services import tenant_domain_for
from tests.factories import Org, client_for, make_member, make_organization, make_user
from tests.support.faults import OwnRedis
from tests.support.processes import REPO, start_celery_worker, subprocess_env, wait_until
from tests.support.webhook_receiver import Receiver, register_endpoint, verified

pytestmark = pytest.mark.slow

PASSWORD = "a-long-password-1"  # noqa: S105 - test account


def _statuses(org: Org) -> list[str]:
    with org.tenant:
        return list(WebhookDelivery.objects.order_by("id").values_list("status", flat=True))


def test_a_task_created_while_the_broker_is_down_is_delivered_once_it_is_back(
    committed: None, own_redis: OwnRedis, start_server, hook_receiver: Receiver
) -> None:
    tenant = make_organization("acme")
    BillingAccount.objects.filter(tenant=tenant).update(plan=Plan.objects.get(code="starter"))
    user = make_user(password=PASSWORD)
    make_member(tenant, Role.ADMIN, user=user)
    org = Org(tenant, user, client_for(tenant, user))
    secrets = {
        f"/{n}": register_endpoint(org, hook_receiver.url(f"/{n}"), ["task.created"])["secret"]
        for n in range(2)
    }
    tag = uuid.uuid4().hex[:8]
    env = {
        "REDIS_URL": own_redis.url,
        "CELERY_BROKER_URL": own_redis.url,
        "CELERY_QUEUE": f"fault-hooks-{tag}",
        "CACHE_KEY_PREFIX": f"fault-hooks-{tag}",
    }
    server = start_server(**env)
    host = tenant_domain_for("acme")
    auth = server.login(host, user.email, PASSWORD)
    project = server.post("/api/v1/projects/", host, auth=auth, json={"name": "Rocket"})
    assert project.status_code == 201, project.text

    own_redis.kill()

    created = server.post(
        f"/api/v1/projects/{project.json()['id']}/tasks/", host, auth=auth, json={"title": "Go"}
    )
    assert created.status_code == 201, created.text
    assert _statuses(org) == ["pending", "pending"]
    assert OutboxMessage.objects.filter(
        task=FAN_OUT_TASK, schema_name=tenant.schema_name
    ).exists()  # kept for the relay: the hand-over after commit found no broker
    assert hook_receiver.received == []

    own_redis.start()  # same port, empty
    worker = start_celery_worker(subprocess_env(**env), str(REPO))  # relays once at start
    try:
        requests = hook_receiver.wait_for(2, timeout=60)
        wait_until(
            lambda: _statuses(org) == ["delivered", "delivered"],
            "both deliveries recorded as delivered",
        )
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    assert sorted(request.path for request in requests) == sorted(secrets)
    for request in requests:
        payload = verified(secrets[request.path], request)
        assert payload["type"] == "task.created"
        assert payload["data"]["id"] == created.json()["id"]
    assert len(hook_receiver.received) == 2
