"""A worker killed with SIGKILL while it holds tasks (acknowledged late, so none is acked):
Redis hands every one of them to another worker within the visibility timeout, and each runs
to its effect exactly once. The timeout is short here (CELERY_VISIBILITY_TIMEOUT); the
default, and why it fits every task, is in config/settings/celery.py."""

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from accounts.models import Role
from billing.models import EventSource, EventState, WebhookEvent, WebhookNotification
from billing.webhooks import services
from billing.webhooks.tasks import webhook_event_process_task
from saas.outbox.models import OutboxMessage
from tests.support.billing import subscribe_paid
from tests.support.processes import REPO, start_celery_worker, subprocess_env, wait_until
from tests.support.webhooks import emulator_events

pytestmark = pytest.mark.slow

HELD = 3
VISIBILITY_TIMEOUT = 10
# Redis redelivers once an unacked task is older than the visibility timeout, at the next
# restore sweep of a live worker (every 10 s, the transport's unacked_restore_interval).
REDELIVERY_BOUND = VISIBILITY_TIMEOUT + 10
MARGIN = 30  # the second worker's start and the tasks' own run


def _prefork_worker(env: dict[str, str]) -> subprocess.Popen:
    """A worker whose pool runs HELD tasks at once, in a process group of its own so that
    SIGKILL takes the whole worker, as an OOM kill or a lost machine would."""
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork"]
        + ["--concurrency", str(HELD), "--loglevel", "warning"]
        + ["--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=REPO,
        env=env,
        start_new_session=True,
    )


def test_a_killed_workers_tasks_run_again_on_another_worker_once_each(
    committed, smtp_sink, make_tenant, make_member, stripe_emulator, monkeypatch
) -> None:
    owners = {}
    for n in range(HELD):
        tenant = make_tenant(f"killed{n}")
        owners[tenant.pk] = make_member(tenant, role=Role.OWNER)
        subscribe_paid(tenant)
    events = emulator_events("invoice.paid")
    assert len(events) == HELD
    rows = [services.webhook_event_record(event=e, source=EventSource.WEBHOOK).id for e in events]
    # The test hands the tasks to the worker itself: the outbox must not hand them over too.
    OutboxMessage.objects.filter(kwargs__event_pk__in=rows).delete()
    invoice_paths = {f"/v1/invoices/{e['data']['object']['id']}" for e in events}

    # Each handler's first Stripe call blocks until released: the worker holds every task.
    arrived: set[str] = set()
    all_arrived, release = threading.Event(), threading.Event()
    real_handle = stripe_emulator.emulator.handle

    def handle(method: str, target: str, *args: Any) -> Any:
        path = target.split("?")[0]
        if method == "GET" and path in invoice_paths and not release.is_set():
            arrived.add(path)
            if arrived == invoice_paths:
                all_arrived.set()
            release.wait(60)
        return real_handle(method, target, *args)

    monkeypatch.setattr(stripe_emulator.emulator, "handle", handle)
    queue = f"{os.environ.get('CELERY_QUEUE', 'celery')}-killed"
    env = subprocess_env(
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_sink.port}",
        CELERY_QUEUE=queue,
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        CELERY_UNACKED_KEY=f"unacked-{queue}",  # only this test's tasks are restored
    )
    first = _prefork_worker(env)
    try:
        for pk in rows:
            webhook_event_process_task.apply_async(kwargs={"event_pk": pk}, queue=queue)
        assert all_arrived.wait(60), f"the worker took only {len(arrived)} of {HELD} tasks"
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    release.set()
    assert all(
        (e.state, e.attempts) == (EventState.PROCESSING, 1)
        for e in WebhookEvent.objects.filter(pk__in=rows)
    )
    assert not WebhookNotification.objects.exists()  # the killed runs rolled back

    second = start_celery_worker(env, str(REPO))
    try:
        wait_until(
            lambda: WebhookEvent.objects.filter(pk__in=rows, state=EventState.DONE).count() == HELD,
            "every held task run again by the second worker",
            timeout=REDELIVERY_BOUND + MARGIN,
        )
        print(
            f"\nall {HELD} redelivered and done {time.monotonic() - killed_at:.1f} s after the kill"
        )
        for owner in owners.values():
            smtp_sink.wait_for(owner.email)
    finally:
        second.terminate()
        second.wait(20)
    for event in WebhookEvent.objects.filter(pk__in=rows):
        assert event.attempts == 2  # the killed run, then one more: never a third
        assert WebhookNotification.objects.filter(event=event).count() == 1
    for owner in owners.values():
        assert len(smtp_sink.sent_to(owner.email)) == 1
