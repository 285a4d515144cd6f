"""End to end with a real Celery worker (the session's, with WEBHOOKS_RETRY_SCHEDULE=1,1) and a
real receiver on loopback: a change over the API reaches the receiver signed; a 500 is
retried; an event for several endpoints reaches each through one fan-out; ordered event types
reach an endpoint in order; an endpoint that keeps failing is disabled and its owners and
admins get an email; a worker killed mid-delivery leaves the delivery to the next worker."""

import json
import os
import signal
import subprocess
import sys
from typing import Any

import pytest

from saas.outbox.models import OutboxMessage
from saas.webhooks_out.models import WebhookDelivery, WebhookEndpoint
from saas.webhooks_out.tasks import webhook_deliver
from tests.support.processes import (
    REPO,
    SmtpSink,
    body_text,
    start_celery_worker,
    subprocess_env,
)
from tests.support.webhook_receiver import Answer, Receiver, register_endpoint, until, verified

pytestmark = pytest.mark.slow


def _status(org: Any) -> list[str]:
    with org.tenant:
        return list(WebhookDelivery.objects.order_by("id").values_list("status", flat=True))


def test_a_project_made_over_the_api_reaches_the_receiver_signed(
    mail: SmtpSink, make_org: Any, hook_receiver: Receiver
) -> None:
    org = make_org("acme").on_plan("starter")
    endpoint = register_endpoint(org, hook_receiver.url(), ["project.created"])
    project = org.ok("post", "projects/", {"name": "Rocket"})
    (request,) = hook_receiver.wait_for(1)
    payload = verified(endpoint["secret"], request)
    assert payload["type"] == "project.created"
    assert payload["data"]["id"] == project["id"]
    until(lambda: _status(org) == ["delivered"], "the delivery recorded as delivered")


def test_a_500_is_retried_by_the_worker_then_delivered(
    mail: SmtpSink, make_org: Any, hook_receiver: Receiver
) -> None:
    org = make_org("acme").on_plan("starter")
    endpoint = register_endpoint(org, hook_receiver.url(), ["project.*"])
    hook_receiver.answer(Answer(500, b"down"))
    org.ok("post", "projects/", {"name": "Rocket"})
    first, second = hook_receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    verified(endpoint["secret"], second)
    until(lambda: _status(org) == ["delivered"], "the retry recorded as delivered")
    deliveries = org.ok("get", f"webhook-endpoints/{endpoint['id']}/deliveries/")["results"]
    detail = org.ok("get", f"webhook-endpoints/{endpoint['id']}/deliveries/{deliveries[0]['id']}/")
    assert [a["status_code"] for a in detail["attempt_log"]] == [200, 500]


def test_an_event_for_three_endpoints_reaches_each_through_one_fan_out(
    mail: SmtpSink, make_org: Any, hook_receiver: Receiver
) -> None:
    org = make_org("acme").on_plan("starter")
    secrets = {
        f"/{n}": register_endpoint(org, hook_receiver.url(f"/{n}"), ["project.*"])["secret"]
        for n in range(3)
    }
    org.ok("post", "projects/", {"name": "Rocket"})
    requests = hook_receiver.wait_for(3)
    assert sorted(request.path for request in requests) == sorted(secrets)
    for request in requests:
        assert verified(secrets[request.path], request)["type"] == "project.created"
    until(lambda: _status(org) == ["delivered"] * 3, "the three deliveries recorded")


def test_an_ordered_event_is_not_received_before_the_earlier_one(
    mail: SmtpSink, make_org: Any, hook_receiver: Receiver
) -> None:
    org = make_org("acme").on_plan("starter")
    register_endpoint(org, hook_receiver.url(), ["member.*"])
    hook_receiver.answer(Answer(500), Answer(500))  # the first event gets through on its 3rd try
    member = org.join("member")
    org.ok("patch", f"members/{member.user.pk}/", {"role": "viewer"})
    received = [json.loads(request.body)["type"] for request in hook_receiver.wait_for(4)]
    assert received == ["member.added"] * 3 + ["member.role_changed"]
    until(lambda: _status(org) == ["delivered"] * 2, "both recorded as delivered")
    assert len(hook_receiver.received) == 4


def test_an_endpoint_that_keeps_failing_is_disabled_and_admins_get_an_email(
    mail: SmtpSink, make_org: Any, hook_receiver: Receiver
) -> None:
    org = make_org("acme").on_plan("starter")
    admin = org.join("admin")
    member = org.join("member")
    hook_receiver.default = Answer(500)
    endpoint = register_endpoint(org, hook_receiver.url(), ["project.*"])
    org.ok("post", "projects/", {"name": "Rocket"})
    hook_receiver.wait_for(3)  # the first attempt and both retries of the schedule
    until(lambda: _status(org) == ["failed"], "the delivery failed for good")
    with org.tenant:
        until(
            lambda: not WebhookEndpoint.objects.get(pk=endpoint["id"]).enabled,
            "the endpoint disabled",
        )
    for person in (org.user, admin.user):
        message = mail.wait_for(person.email)
        assert hook_receiver.url() in body_text(message)
    assert mail.sent_to(member.user.email) == []


def _worker_in_own_group(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo"]
        + ["--loglevel", "warning", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=REPO,
        env=env,
        start_new_session=True,
    )


def test_a_worker_killed_mid_delivery_leaves_it_to_the_next_worker(
    committed: None, outbox_held: None, make_org: Any, hook_receiver: Receiver
) -> None:
    org = make_org("acme").on_plan("starter")
    endpoint = register_endpoint(org, hook_receiver.url(), ["project.*"])
    with org.tenant:
        # The outbox hands the first run to the session's queue; this test hands it to a
        # worker of its own instead, and kills that worker while the receiver holds the POST.
        org.ok("post", "projects/", {"name": "Rocket"})
        (delivery,) = WebhookDelivery.objects.all()
        OutboxMessage.objects.filter(kwargs__delivery_id=delivery.pk).delete()
    hook_receiver.answer(Answer(200, delay=60))  # held until the test ends
    queue = f"{os.environ.get('CELERY_QUEUE', 'celery')}-hooks-killed"
    env = subprocess_env(
        CELERY_QUEUE=queue,
        CELERY_VISIBILITY_TIMEOUT="5",
        CELERY_UNACKED_KEY=f"unacked-{queue}",
        WEBHOOKS_TIMEOUT_SECONDS="2",  # a lease of 11 s
    )
    first = _worker_in_own_group(env)
    try:
        webhook_deliver.apply_async(
            kwargs={"delivery_id": delivery.pk},
            queue=queue,
            headers={"_schema_name": org.tenant.schema_name},
        )
        hook_receiver.wait_for(1, timeout=60)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert _status(org) == ["pending"]
    second = start_celery_worker(env, str(REPO))
    try:
        requests = hook_receiver.wait_for(2, timeout=90)
        until(lambda: _status(org) == ["delivered"], "delivered by the second worker", 30)
    finally:
        second.terminate()
        second.wait(20)
    assert requests[0].headers["webhook-id"] == requests[1].headers["webhook-id"]
    verified(endpoint["secret"], requests[1])
