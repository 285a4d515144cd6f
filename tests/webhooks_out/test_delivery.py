"""Delivery attempts against a real receiver on loopback, run in this process (the worker's
part: saas.webhooks_out.services.webhook_delivery_attempt): Standard Webhooks signatures
verified by the reference library, retries on the schedule, bounded requests (no redirects,
time limits, a few KB read), SSRF refused at delivery, rotation's two signatures,
auto-disable after a whole schedule of failures, and ordered event types held back per
endpoint while an earlier one is pending."""

import json
import socket
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import WebhookVerificationError

from saas.outbox.models import OutboxMessage
from saas.webhooks_out import network
from saas.webhooks_out.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from saas.webhooks_out.services import DELIVER_TASK, DeliveryHeld, webhook_delivery_attempt
from tests.factories import Org
from tests.support.webhook_receiver import Answer, Receiver, register_endpoint, verified


def _deliveries(org: Org) -> list[WebhookDelivery]:
    with org.tenant:
        return list(WebhookDelivery.objects.order_by("id"))


def _attempt(org: Org, delivery: WebhookDelivery) -> str:
    with org.tenant:
        return webhook_delivery_attempt(delivery_id=delivery.pk)


def _one_project(
    org: Org, hook_receiver: Receiver, **endpoint: Any
) -> tuple[dict, WebhookDelivery]:
    created = register_endpoint(org, hook_receiver.url(), ["project.*"], **endpoint)
    org.ok("post", "projects/", {"name": "Rocket"})
    (delivery,) = _deliveries(org)
    return created, delivery


def test_the_receiver_gets_a_signed_event_the_reference_library_verifies(
    hooks: Org, hook_receiver: Receiver
) -> None:
    created, delivery = _one_project(hooks, hook_receiver)
    assert _attempt(hooks, delivery) == "delivered"
    (request,) = hook_receiver.received
    payload = verified(created["secret"], request)
    assert payload["type"] == "project.created"
    assert payload["data"]["name"] == "Rocket"
    assert set(payload) == {"type", "timestamp", "data"}
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["content-type"] == "application/json"
    assert request.path == "/hook"
    with pytest.raises(WebhookVerificationError):
        verified("whsec_" + "A" * 44, request)
    (done,) = _deliveries(hooks)
    assert done.status == "delivered"
    assert done.attempts == 1
    assert done.last_status_code == 200
    # A second copy of the task (at least once) finds nothing to do.
    assert _attempt(hooks, done) == "skipped"
    assert len(hook_receiver.received) == 1


def test_a_failed_attempt_is_retried_on_the_schedule_then_delivered(
    hooks: Org, hook_receiver: Receiver, fast_retries: list[int]
) -> None:
    hook_receiver.answer(Answer(500, b"boom"), Answer(503, b"later"))
    created, delivery = _one_project(hooks, hook_receiver)
    assert _attempt(hooks, delivery) == "pending"
    with hooks.tenant:
        retries = OutboxMessage.objects.filter(task=DELIVER_TASK, retries=0)
        assert retries.filter(kwargs__delivery_id=delivery.pk).count() == 2  # first + retry
    assert _attempt(hooks, delivery) == "pending"
    assert _attempt(hooks, delivery) == "delivered"
    requests = hook_receiver.received
    assert len(requests) == 3
    assert len({r.headers["webhook-id"] for r in requests}) == 1  # one message id throughout
    for request in requests:
        verified(created["secret"], request)
    with hooks.tenant:
        attempts = list(WebhookAttempt.objects.order_by("id"))
    assert [(a.status_code, a.succeeded) for a in attempts] == [
        (500, False),
        (503, False),
        (200, True),
    ]
    assert attempts[0].response_excerpt == "boom"
    assert attempts[0].error == "HTTP 500."


def test_the_default_schedule_waits_in_the_outbox(hooks: Org, hook_receiver: Receiver) -> None:
    hook_receiver.answer(Answer(500))
    _, delivery = _one_project(hooks, hook_receiver)
    assert _attempt(hooks, delivery) == "pending"
    (pending,) = _deliveries(hooks)
    assert pending.next_attempt_at is not None
    assert pending.last_attempt_at is not None
    waited = (pending.next_attempt_at - pending.last_attempt_at).total_seconds()
    assert 4 <= waited <= 10  # the first retry: 5 s
    # Not due yet: a copy of the task that arrives early does nothing.
    assert _attempt(hooks, pending) == "skipped"
    assert len(hook_receiver.received) == 1


def test_a_redirect_is_a_failure_and_is_not_followed(
    hooks: Org, hook_receiver: Receiver, fast_retries: list[int]
) -> None:
    hook_receiver.default = Answer(302, b"", headers={"Location": hook_receiver.url("/elsewhere")})
    _, delivery = _one_project(hooks, hook_receiver)
    assert _attempt(hooks, delivery) == "pending"
    assert [r.path for r in hook_receiver.received] == ["/hook"]
    (after,) = _deliveries(hooks)
    assert after.last_status_code == 302
    assert "redirects are not followed" in after.last_error


def test_a_slow_receiver_is_cut_off_at_the_time_limit(
    hooks: Org, hook_receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOKS_TIMEOUT_SECONDS = 0.5
    hook_receiver.answer(Answer(200, delay=10))
    _, delivery = _one_project(hooks, hook_receiver)
    assert _attempt(hooks, delivery) == "pending"
    (after,) = _deliveries(hooks)
    assert after.last_status_code is None
    assert after.last_error == "Timed out."


def test_a_huge_answer_is_read_only_up_to_the_limit(
    hooks: Org, hook_receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOKS_RESPONSE_MAX_BYTES = 2048
    hook_receiver.answer(Answer(200, huge=50 * 1024 * 1024))
    _, delivery = _one_project(hooks, hook_receiver)
    assert _attempt(hooks, delivery) == "delivered"
    with hooks.tenant:
        (attempt,) = WebhookAttempt.objects.all()
    assert len(attempt.response_excerpt) == 2048


def test_a_host_that_now_resolves_to_loopback_is_refused_at_delivery(
    hooks: Org, hook_receiver: Receiver, settings: Any
) -> None:
    """Registered while allowed (as a name that later points at us would be), refused when
    the delivery resolves it: nothing reaches the receiver."""
    register_endpoint(hooks, hook_receiver.url(host="localhost"), ["project.*"])
    hooks.ok("post", "projects/", {"name": "Rocket"})
    (delivery,) = _deliveries(hooks)
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    assert _attempt(hooks, delivery) == "pending"
    assert hook_receiver.received == []
    (after,) = _deliveries(hooks)
    assert after.last_error.startswith("Refused:")
    assert "public internet" in after.last_error


@pytest.mark.parametrize("url", ["http://10.0.0.1/hook", "http://169.254.169.254/latest/"])
def test_a_private_address_is_refused_at_delivery_without_connecting(
    hooks: Org, hook_receiver: Receiver, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    _, delivery = _one_project(hooks, hook_receiver)
    with hooks.tenant:
        WebhookEndpoint.objects.update(url=url)  # as if the row had been changed under us
    connects: list[Any] = []

    def tripwire(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        connects.append(address)
        raise AssertionError("must not connect")

    monkeypatch.setattr(network.socket, "create_connection", tripwire)
    assert _attempt(hooks, delivery) == "pending"
    assert connects == []
    (after,) = _deliveries(hooks)
    assert after.last_error.startswith("Refused:")


def test_during_a_rotation_both_secrets_sign(hooks: Org, hook_receiver: Receiver) -> None:
    created, delivery = _one_project(hooks, hook_receiver)
    rotated = hooks.ok("post", f"webhook-endpoints/{created['id']}/rotate-secret/")
    assert rotated["secret"] != created["secret"]
    assert rotated["previous_secret_expires_at"]
    _attempt(hooks, delivery)
    (request,) = hook_receiver.received
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(s.startswith("v1,") for s in signatures)
    assert verified(created["secret"], request) == verified(rotated["secret"], request)


def test_after_the_overlap_only_the_new_secret_signs(
    hooks: Org, hook_receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOKS_SECRET_OVERLAP_SECONDS = 0
    created, delivery = _one_project(hooks, hook_receiver)
    rotated = hooks.ok("post", f"webhook-endpoints/{created['id']}/rotate-secret/")
    _attempt(hooks, delivery)
    (request,) = hook_receiver.received
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    verified(rotated["secret"], request)
    with pytest.raises(WebhookVerificationError):
        verified(created["secret"], request)


def test_an_endpoint_failing_for_the_whole_schedule_is_disabled_and_admins_are_told(
    hooks: Org, hook_receiver: Receiver, fast_retries: list[int]
) -> None:
    admin = hooks.join("admin")
    hooks.join("member")
    hook_receiver.default = Answer(500)
    created, delivery = _one_project(hooks, hook_receiver)
    outcomes = [_attempt(hooks, delivery) for _ in range(len(fast_retries) + 1)]
    assert outcomes == ["pending", "pending", "failed"]
    detail = hooks.ok("get", f"webhook-endpoints/{created['id']}/")
    assert detail["enabled"] is False
    assert detail["disabled_reason"]
    with hooks.tenant:
        emails = OutboxMessage.objects.filter(task="saas.tasks.email_send")
        sent = sorted(m.kwargs["to"] for m in emails)
        assert {m.kwargs["template"] for m in emails} == {"webhook_endpoint_disabled"}
    assert sent == sorted([hooks.user.email, admin.user.email])
    # Disabled: new changes are not recorded for it; enabling it again starts afresh.
    hooks.ok("post", "projects/", {"name": "Two"})
    assert len(_deliveries(hooks)) == 1
    enabled = hooks.ok("patch", f"webhook-endpoints/{created['id']}/", {"enabled": True})
    assert enabled["enabled"] is True
    assert enabled["failing_since"] is None


def test_a_success_in_between_keeps_the_endpoint_enabled(
    hooks: Org, hook_receiver: Receiver, fast_retries: list[int]
) -> None:
    created = register_endpoint(hooks, hook_receiver.url(), ["project.*"])
    hook_receiver.default = Answer(500)
    hooks.ok("post", "projects/", {"name": "One"})
    (first,) = _deliveries(hooks)
    _attempt(hooks, first)
    hooks.ok("post", "projects/", {"name": "Two"})
    second = _deliveries(hooks)[1]
    hook_receiver.answer(Answer(200))
    assert _attempt(hooks, second) == "delivered"
    assert [_attempt(hooks, first) for _ in fast_retries] == ["pending", "failed"]
    assert hooks.ok("get", f"webhook-endpoints/{created['id']}/")["enabled"] is True


def test_the_body_is_the_standard_webhooks_envelope(hooks: Org, hook_receiver: Receiver) -> None:
    _, delivery = _one_project(hooks, hook_receiver)
    _attempt(hooks, delivery)
    body = json.loads(hook_receiver.received[0].body)
    assert list(body) == ["type", "timestamp", "data"]
    assert body["timestamp"].endswith("+00:00")


def test_a_copy_that_finds_the_delivery_held_tries_again_after_the_lease(
    hooks: Org, hook_receiver: Receiver
) -> None:
    _, delivery = _one_project(hooks, hook_receiver)
    with hooks.tenant:
        WebhookDelivery.objects.update(lease_until=timezone.now() + timedelta(seconds=30))
    with pytest.raises(DeliveryHeld) as held:
        _attempt(hooks, delivery)
    assert 29 <= held.value.retry_in <= 32
    assert hook_receiver.received == []
    with hooks.tenant:  # the lease of a run that died has passed: this copy sends it
        WebhookDelivery.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    assert _attempt(hooks, delivery) == "delivered"


def test_a_secret_that_cannot_be_read_fails_the_attempt_and_sends_nothing(
    hooks: Org, hook_receiver: Receiver
) -> None:
    """Say SECRET_KEY changed: the attempt is a recorded failure (rotate the secret), not a
    crash of the task."""
    _, delivery = _one_project(hooks, hook_receiver)
    with hooks.tenant:
        WebhookEndpoint.objects.update(secret_encrypted="gAAAAAB-not-a-fernet-token")
    assert _attempt(hooks, delivery) == "pending"
    assert hook_receiver.received == []
    (after,) = _deliveries(hooks)
    assert "rotate it" in after.last_error


def _queued_for(org: Org, delivery: WebhookDelivery) -> int:
    with org.tenant:
        return OutboxMessage.objects.filter(
            task=DELIVER_TASK, kwargs__delivery_id=delivery.pk
        ).count()


def _types(receiver: Receiver) -> list[str]:
    return [json.loads(request.body)["type"] for request in receiver.received]


def test_an_ordered_event_waits_until_the_earlier_one_is_delivered(
    hooks: Org, hook_receiver: Receiver, fast_retries: list[int]
) -> None:
    register_endpoint(hooks, hook_receiver.url(), ["member.*", "project.*"])
    member = hooks.join("member")
    hooks.ok("post", "projects/", {"name": "Rocket"})
    hooks.ok("patch", f"members/{member.user.pk}/", {"role": "viewer"})
    added, project, changed = _deliveries(hooks)
    hook_receiver.answer(Answer(500))
    assert _attempt(hooks, added) == "pending"  # its retry is queued
    assert _attempt(hooks, changed) == "waiting"  # sends nothing, keeps no lease
    assert _attempt(hooks, project) == "delivered"  # not an ordered type: not held back
    assert _queued_for(hooks, changed) == 1  # its first task only
    assert _attempt(hooks, added) == "delivered"
    assert _queued_for(hooks, changed) == 2  # queued again by the earlier one's record
    assert _attempt(hooks, changed) == "delivered"
    assert _types(hook_receiver) == [
        "member.added",
        "project.created",
        "member.added",
        "member.role_changed",
    ]


def test_an_ordered_event_is_sent_once_the_earlier_one_failed_for_good(
    hooks: Org, hook_receiver: Receiver, fast_retries: list[int]
) -> None:
    register_endpoint(hooks, hook_receiver.url(), ["member.*", "project.*"])
    member = hooks.join("member")
    hooks.ok("patch", f"members/{member.user.pk}/", {"role": "viewer"})
    added, changed = _deliveries(hooks)
    hook_receiver.answer(Answer(500), Answer(500))
    assert _attempt(hooks, added) == "pending"
    assert _attempt(hooks, changed) == "waiting"
    assert _attempt(hooks, added) == "pending"
    # A success in between keeps the endpoint enabled when the first one gives up.
    hooks.ok("post", "projects/", {"name": "Rocket"})
    assert _attempt(hooks, _deliveries(hooks)[2]) == "delivered"
    hook_receiver.answer(Answer(500))
    assert _attempt(hooks, changed) == "waiting"
    assert _attempt(hooks, added) == "failed"
    assert _queued_for(hooks, changed) == 2
    assert _attempt(hooks, changed) == "delivered"
    assert _types(hook_receiver)[-2:] == ["member.added", "member.role_changed"]
