"""A worker keeps its PostgreSQL connection from one task to the next, as a web process keeps
it from one request to the next (CONN_MAX_AGE), instead of Celery's default of a new
connection per task. Seen from PostgreSQL: the worker's connection (its application_name set
through libpq's PGAPPNAME) is the same backend after each of three tasks."""

import os
import secrets
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from saas.webhooks_out.models import WebhookDelivery
from saas.webhooks_out.tasks import webhook_deliver
from tests.support.processes import REPO, start_celery_worker, subprocess_env
from tests.support.webhook_receiver import Receiver, register_endpoint, until

pytestmark = pytest.mark.slow


def _backends(application_name: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [application_name]
        )
        return [row[0] for row in cursor.fetchall()]


def _status(org: Any) -> list[str]:
    with org.tenant:
        return list(WebhookDelivery.objects.order_by("id").values_list("status", flat=True))


def _delivered(org: Any, count: int) -> bool:
    return _status(org)[:count] == ["delivered"] * count


def test_a_worker_keeps_its_database_connection_across_tasks(
    committed: None, make_org: Any, hook_receiver: Receiver
) -> None:
    org = make_org("acme").on_plan("starter")
    register_endpoint(org, hook_receiver.url(), ["project.*"])
    with transaction.atomic(), org.tenant:
        for name in ("One", "Two", "Three"):
            org.ok("post", "projects/", {"name": name})
        # Not due when the outbox hands them to the session's worker (if one runs): it skips
        # them. Each is made due below and sent to this test's worker alone.
        WebhookDelivery.objects.update(next_attempt_at=timezone.now() + timedelta(days=1))
        deliveries = list(WebhookDelivery.objects.order_by("id").values_list("id", flat=True))
    name = f"saas-test-worker-{secrets.token_hex(4)}"
    queue = f"{os.environ.get('CELERY_QUEUE', 'celery')}-connections"
    env = subprocess_env(CELERY_QUEUE=queue, CELERY_UNACKED_KEY=f"unacked-{queue}", PGAPPNAME=name)
    worker = start_celery_worker(env, str(REPO))
    seen: list[list[int]] = []
    try:
        for done, delivery_id in enumerate(deliveries, start=1):
            with org.tenant:
                WebhookDelivery.objects.filter(pk=delivery_id).update(
                    next_attempt_at=timezone.now()
                )
            webhook_deliver.apply_async(
                kwargs={"delivery_id": delivery_id},
                queue=queue,
                headers={"_schema_name": org.tenant.schema_name},
            )
            hook_receiver.wait_for(done, timeout=60)
            until(partial(_delivered, org, done), "delivered", 30)
            until(lambda: len(_backends(name)) == 1, "the worker's connection open", 10)
            seen.append(_backends(name))
    finally:
        worker.terminate()
        worker.wait(20)
    assert len(seen) == 3
    assert seen[0] == seen[1] == seen[2], seen
