"""The delivery log and its actions: list and detail with attempts, replay one delivery or a
time range, send a test event; two replays at once; another organization sees nothing."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from saas.outbox.models import OutboxMessage
from saas.webhooks_out.models import WebhookDelivery
from saas.webhooks_out.services import DELIVER_TASK, webhook_delivery_attempt
from tests.factories import Org, client_for
from tests.support.concurrency import at_once
from tests.support.http import assert_error
from tests.support.webhook_receiver import Answer, Receiver, register_endpoint, verified


def _run_due(org: Org) -> list[str]:
    """What a worker would do with every due delivery (the tasks the outbox holds)."""
    with org.tenant:
        ids = list(WebhookDelivery.objects.filter(status="pending").values_list("id", flat=True))
        return [webhook_delivery_attempt(delivery_id=i) for i in ids]


def _queued(org: Org, delivery_id: int) -> int:
    with org.tenant:
        return OutboxMessage.objects.filter(
            task=DELIVER_TASK, kwargs__delivery_id=delivery_id
        ).count()


@pytest.fixture
def endpoint(hooks: Org, hook_receiver: Receiver) -> dict[str, Any]:
    return register_endpoint(hooks, hook_receiver.url(), ["project.*"])


def test_the_log_lists_deliveries_with_their_attempts(
    hooks: Org, hook_receiver: Receiver, endpoint: dict, fast_retries: list[int]
) -> None:
    hook_receiver.answer(Answer(500, b"not now"))
    hooks.ok("post", "projects/", {"name": "One"})
    hooks.ok("post", "projects/", {"name": "Two"})
    _run_due(hooks)
    base = f"webhook-endpoints/{endpoint['id']}/deliveries/"
    listed = hooks.ok("get", base)
    assert listed["count"] == 2
    statuses = {row["status"] for row in listed["results"]}
    assert statuses == {"pending", "delivered"}
    failed_once = next(row for row in listed["results"] if row["status"] == "pending")
    assert failed_once["last_status_code"] == 500
    assert failed_once["attempts"] == 1
    assert failed_once["last_latency_ms"] is not None
    assert failed_once["event_type"] == "project.created"
    assert failed_once["event_id"].startswith("msg_")
    assert hooks.ok("get", f"{base}?status=delivered")["count"] == 1
    assert_error(hooks.client.get(f"/api/v1/{base}?status=lost"), 400)
    detail = hooks.ok("get", f"{base}{failed_once['id']}/")
    assert detail["payload"]["name"] in {"One", "Two"}
    (attempt,) = detail["attempt_log"]
    assert attempt["status_code"] == 500
    assert attempt["response_excerpt"] == "not now"
    assert attempt["succeeded"] is False


def test_replaying_a_delivery_sends_it_again_with_the_same_id(
    hooks: Org, hook_receiver: Receiver, endpoint: dict
) -> None:
    hooks.ok("post", "projects/", {"name": "One"})
    _run_due(hooks)
    (delivery,) = hooks.ok("get", f"webhook-endpoints/{endpoint['id']}/deliveries/")["results"]
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries/{delivery['id']}/replay/"
    response = hooks.client.post(path)
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending"
    queued = _queued(hooks, delivery["id"])
    again = hooks.client.post(path)  # already due: left as it is, nothing more queued
    assert again.status_code == 202
    assert _queued(hooks, delivery["id"]) == queued
    assert _run_due(hooks) == ["delivered"]
    first, second = hook_receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    verified(endpoint["secret"], second)
    detail = hooks.ok("get", f"webhook-endpoints/{endpoint['id']}/deliveries/{delivery['id']}/")
    assert len(detail["attempt_log"]) == 2


@pytest.mark.django_db(transaction=True)
def test_two_replays_at_once_queue_one_send(
    committed: None, outbox_held: None, make_org: Any, hook_receiver: Receiver
) -> None:
    org = make_org("acme").on_plan("starter")
    created = register_endpoint(org, hook_receiver.url(), ["project.*"])
    org.ok("post", "projects/", {"name": "One"})
    with org.tenant:
        (delivery,) = WebhookDelivery.objects.all()
        # Delivered already (as a worker would have); no worker gets this test's tasks.
        OutboxMessage.objects.filter(task=DELIVER_TASK).delete()
        WebhookDelivery.objects.update(status="delivered", next_attempt_at=None)
    path = f"/api/v1/webhook-endpoints/{created['id']}/deliveries/{delivery.pk}/replay/"

    def replay() -> int:
        return int(client_for(org.tenant, org.user).post(path).status_code)

    assert at_once(replay, replay) == [202, 202]
    assert _queued(org, delivery.pk) == 1


def test_replaying_a_time_range(hooks: Org, hook_receiver: Receiver, endpoint: dict) -> None:
    hook_receiver.default = Answer(500)
    for name in ("One", "Two", "Three"):
        hooks.ok("post", "projects/", {"name": name})
    with hooks.tenant:
        WebhookDelivery.objects.update(status="failed", next_attempt_at=None)
        newest = WebhookDelivery.objects.order_by("-id").first()
        assert newest is not None
        WebhookDelivery.objects.filter(pk=newest.pk).update(
            created_at=timezone.now() - timedelta(days=2)
        )
    now = timezone.now()
    body = {"since": (now - timedelta(hours=1)).isoformat(), "until": now.isoformat()}
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries/replay/"
    response = hooks.client.post(path, {**body, "status": "failed"}, format="json")
    assert response.status_code == 202, response.content
    assert response.json() == {"replayed": 2}
    with hooks.tenant:
        assert WebhookDelivery.objects.filter(status="pending").count() == 2
        assert WebhookDelivery.objects.get(pk=newest.pk).status == "failed"
    # Pending ones are not replayed twice.
    assert hooks.client.post(path, body, format="json").json() == {"replayed": 0}
    reversed_range = {"since": body["until"], "until": body["since"]}
    assert_error(hooks.client.post(path, reversed_range, format="json"), 400)
    assert_error(hooks.client.post(path, {"since": "yesterday"}, format="json"), 400)


def test_replaying_a_delivery_waiting_for_a_retry_sends_it_now(
    hooks: Org, hook_receiver: Receiver, endpoint: dict
) -> None:
    hook_receiver.answer(Answer(500))
    hooks.ok("post", "projects/", {"name": "One"})
    assert _run_due(hooks) == ["pending"]  # the retry waits 5 s
    (delivery,) = hooks.ok("get", f"webhook-endpoints/{endpoint['id']}/deliveries/")["results"]
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries/{delivery['id']}/replay/"
    assert hooks.client.post(path).status_code == 202
    assert _run_due(hooks) == ["delivered"]
    assert len(hook_receiver.received) == 2


def test_send_a_test_event(hooks: Org, hook_receiver: Receiver, endpoint: dict) -> None:
    response = hooks.client.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/test/")
    assert response.status_code == 202, response.content
    assert response.json()["event_type"] == "webhook.test"
    assert _run_due(hooks) == ["delivered"]
    payload = verified(endpoint["secret"], hook_receiver.received[0])
    assert payload["type"] == "webhook.test"
    assert payload["data"]["endpoint_id"] == endpoint["id"]
    hooks.ok("patch", f"webhook-endpoints/{endpoint['id']}/", {"enabled": False})
    assert_error(
        hooks.client.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/test/"),
        409,
        "webhook_endpoint_disabled",
    )


def test_another_organization_cannot_see_or_replay_deliveries(
    hooks: Org, beta: Org, hook_receiver: Receiver, endpoint: dict
) -> None:
    beta.on_plan("starter")
    hooks.ok("post", "projects/", {"name": "Secret plans"})
    _run_due(hooks)
    (delivery,) = hooks.ok("get", f"webhook-endpoints/{endpoint['id']}/deliveries/")["results"]
    base = f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries/"
    assert_error(beta.client.get(base), 404)
    assert_error(beta.client.get(f"{base}{delivery['id']}/"), 404)
    assert_error(beta.client.post(f"{base}{delivery['id']}/replay/"), 404)
    now = timezone.now().isoformat()
    assert_error(
        beta.client.post(f"{base}replay/", {"since": now, "until": now}, format="json"), 404
    )
    # beta's own endpoint with the same id space never shows acme's deliveries.
    own = register_endpoint(beta, hook_receiver.url("/beta"), ["project.*"])
    listed = beta.ok("get", f"webhook-endpoints/{own['id']}/deliveries/")
    assert listed["count"] == 0
    with hooks.tenant:
        assert WebhookDelivery.objects.get().status == "delivered"
