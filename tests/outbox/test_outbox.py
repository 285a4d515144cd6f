"""The transactional outbox: a task exists exactly when the transaction it follows committed,
is handed to Celery right after the commit or, if the broker is away, by the relay later, and
again if it has not run long after (the broker lost it); long waits (countdowns, retries'
backoff) stay in PostgreSQL until due."""

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from celery import current_app, shared_task
from celery.exceptions import Retry
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from billing.errors import PaymentProviderUnavailable
from billing.tasks import billing_customer_create
from saas.outbox import services
from saas.outbox.beat import RELAY_SECONDS
from saas.outbox.models import OutboxMessage
from saas.outbox.services import outbox_enqueue, outbox_relay

RECORD = "tests.outbox.test_outbox.record"
ran: list[dict[str, Any]] = []


@shared_task(name=RECORD)
def record(**kwargs: Any) -> None:
    """A task that notes what it ran with (and in which schema)."""
    ran.append({**kwargs, "schema": connection.schema_name})  # type: ignore[attr-defined]


class Broker:
    """Stands in for `_publish`: records what Celery would have been given, or refuses."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.down = False

    def publish(self, message: OutboxMessage, *, countdown: float | None = None) -> None:
        if self.down:
            raise ConnectionRefusedError("broker down")
        self.sent.append(
            {
                "task": message.task,
                "kwargs": message.kwargs,
                "schema": message.schema_name,
                "retries": message.retries,
                "countdown": countdown,
            }
        )


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> Broker:
    fake = Broker()
    monkeypatch.setattr(services, "_publish", fake.publish)
    monkeypatch.setattr(services, "_handover_paused_until", 0.0)
    return fake


@pytest.fixture
def eager() -> Iterator[None]:
    """Celery runs what it is handed in this process, through the real hand-over path."""
    ran.clear()
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER


def test_a_task_is_written_with_the_transaction_and_handed_over_once_it_commits(
    committed: None, broker: Broker
) -> None:
    with transaction.atomic():
        outbox_enqueue(RECORD, {"n": 1})
        assert OutboxMessage.objects.count() == 1
        assert broker.sent == []  # nothing leaves before the commit

    assert broker.sent == [
        {"task": RECORD, "kwargs": {"n": 1}, "schema": "public", "retries": 0, "countdown": 0.0}
    ]
    sent = OutboxMessage.objects.get()  # kept until a worker has run it
    assert (sent.sends, sent.sent_at is not None) == (1, True)
    assert outbox_relay() == 0  # nothing for the relay meanwhile
    services.outbox_task_finished(sent.pk)
    assert not OutboxMessage.objects.exists()


def test_a_rolled_back_transaction_leaves_no_task(committed: None, broker: Broker) -> None:
    @transaction.atomic
    def enqueue_then_fail() -> None:
        outbox_enqueue(RECORD, {"n": 1})
        raise RuntimeError("the work failed")

    with pytest.raises(RuntimeError):
        enqueue_then_fail()
    assert broker.sent == []
    assert not OutboxMessage.objects.exists()


def test_with_the_broker_down_the_commit_succeeds_and_the_relay_sends_later(
    committed: None, broker: Broker
) -> None:
    broker.down = True
    with transaction.atomic():  # no error reaches the caller: its work is committed
        outbox_enqueue(RECORD, {"n": 1})
    waiting = OutboxMessage.objects.get()
    assert (waiting.sends, waiting.due_at <= timezone.now()) == (0, True)  # due for the relay

    broker.down = False
    assert outbox_relay() == 1
    assert [m["kwargs"] for m in broker.sent] == [{"n": 1}]
    assert outbox_relay() == 0  # sent once


def test_after_a_refused_hand_over_the_process_leaves_the_next_ones_to_the_relay(
    committed: None, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = broker.publish

    def counting(message: OutboxMessage, **kw: Any) -> None:
        calls.append(message.pk)
        real(message, **kw)

    monkeypatch.setattr(services, "_publish", counting)
    broker.down = True
    outbox_enqueue(RECORD, {"n": 1})
    outbox_enqueue(RECORD, {"n": 2})  # a request during the outage does not wait on Redis
    assert len(calls) == 1
    assert OutboxMessage.objects.count() == 2


def test_the_relay_backs_off_a_refused_row_and_stops_its_run(
    committed: None, broker: Broker
) -> None:
    broker.down = True
    for n in (1, 2):
        outbox_enqueue(RECORD, {"n": n})
    OutboxMessage.objects.update(due_at=timezone.now())

    assert outbox_relay() == 0
    first, second = OutboxMessage.objects.order_by("pk")
    assert (first.attempts, second.attempts) == (1, 0)  # one try per run, then it stops
    assert "broker down" in first.last_error
    assert first.due_at > timezone.now() >= second.due_at

    broker.down = False
    assert outbox_relay() == 1  # the other one; the first waits out its backoff
    OutboxMessage.objects.filter(sends=0).update(due_at=timezone.now())
    assert outbox_relay() == 1
    assert sorted(m["kwargs"]["n"] for m in broker.sent) == [1, 2]


def test_a_short_countdown_goes_with_the_task_a_long_one_waits_here_until_due(
    committed: None, broker: Broker
) -> None:
    outbox_enqueue(RECORD, {"n": "soon"}, countdown=5)
    outbox_enqueue(RECORD, {"n": "later"}, countdown=3600)

    # The short one: held by a worker for 5 s, far inside the visibility timeout.
    assert [(m["kwargs"]["n"], m["countdown"]) for m in broker.sent] == [("soon", 5.0)]
    later = OutboxMessage.objects.get(sends=0)
    assert later.due_at > timezone.now() + timedelta(minutes=59)
    assert outbox_relay() == 0

    OutboxMessage.objects.filter(pk=later.pk).update(due_at=timezone.now())
    assert outbox_relay() == 1
    assert broker.sent[-1]["kwargs"] == {"n": "later"}
    assert broker.sent[-1]["countdown"] is None  # due now: no ETA for a worker to hold


def test_every_countdown_a_worker_may_hold_is_far_shorter_than_the_visibility_timeout() -> None:
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert timeout <= 300  # a killed worker's tasks come back within minutes, not hours
    assert services.HANDOVER_MAX_COUNTDOWN * 2 < timeout
    assert settings.CELERY_TASK_TIME_LIMIT < timeout
    # Workers look for abandoned tasks every 10 s, not every 100 s.
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert options["unacked_restore_interval"] * options["unacked_restore_throttle"] <= 10
    assert "saas.outbox.tasks.outbox_relay" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }


def test_arguments_keep_their_types_and_the_task_runs_in_the_callers_schema(
    committed: None, eager: None, make_tenant: Any
) -> None:
    tenant = make_tenant("acme")
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with transaction.atomic():
        with tenant:
            outbox_enqueue(RECORD, {"when": when, "to": "a@example.test"})
        assert connection.schema_name == "public"  # type: ignore[attr-defined]  # commits here

    assert ran == [{"when": when, "to": "a@example.test", "schema": tenant.schema_name}]
    assert not OutboxMessage.objects.exists()  # the task ran: its row is done


def test_a_task_the_broker_lost_is_handed_over_again_later_and_later(
    committed: None, broker: Broker
) -> None:
    outbox_enqueue(RECORD, {"n": 1})
    lost = OutboxMessage.objects.get()
    wait = timedelta(seconds=settings.OUTBOX_REDELIVER_AFTER_SECONDS)
    assert lost.sent_at is not None
    assert lost.due_at >= lost.sent_at + wait  # the broker's own redelivery comes first

    OutboxMessage.objects.update(due_at=timezone.now())  # no worker ever ran it
    assert outbox_relay() == 1
    lost.refresh_from_db()
    assert lost.sends == 2
    assert lost.sent_at is not None
    assert lost.due_at >= lost.sent_at + 2 * wait  # a backlog is not flooded with copies
    assert [m["kwargs"] for m in broker.sent] == [{"n": 1}, {"n": 1}]


def test_an_unknown_task_fails_where_it_is_enqueued(db: None) -> None:
    with pytest.raises(KeyError):
        outbox_enqueue("billing.tasks.no_such_task", {})


def test_relays_side_by_side_hand_each_row_over_once(
    committed: None, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker.down = True
    for n in range(20):
        outbox_enqueue(RECORD, {"n": n})
    OutboxMessage.objects.update(due_at=timezone.now())
    broker.down = False
    slow = broker.publish

    def slow_publish(message: OutboxMessage, **kw: Any) -> None:
        time.sleep(0.01)  # both relays are surely at work at once
        slow(message, **kw)

    monkeypatch.setattr(services, "_publish", slow_publish)
    counts: list[int] = []

    def relay() -> None:
        try:
            counts.append(outbox_relay())
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 20
    assert sorted(m["kwargs"]["n"] for m in broker.sent) == list(range(20))


def _as_worker(task: Any, **request: Any) -> None:
    """The request Celery's worker sets up for a run of `task`."""
    task.push_request(called_directly=False, is_eager=False, args=[], **request)


def test_a_retry_waits_in_the_outbox_with_its_count(committed: None, broker: Broker) -> None:
    _as_worker(billing_customer_create, kwargs={"tenant_id": 7}, retries=2)
    try:
        with pytest.raises(Retry):
            billing_customer_create.retry(
                exc=PaymentProviderUnavailable("Stripe is down."), countdown=900
            )
    finally:
        billing_customer_create.pop_request()

    waiting = OutboxMessage.objects.get()
    assert (waiting.task, waiting.kwargs, waiting.retries, waiting.sends) == (
        "billing.tasks.billing_customer_create",
        {"tenant_id": 7},
        3,
        0,
    )
    assert waiting.due_at > timezone.now() + timedelta(minutes=14)
    assert broker.sent == []  # not a message a worker would hold for 15 minutes

    OutboxMessage.objects.update(due_at=timezone.now())
    assert outbox_relay() == 1
    assert broker.sent[0]["retries"] == 3  # the task knows which retry it runs as


def test_a_task_out_of_retries_fails_and_leaves_nothing(committed: None, broker: Broker) -> None:
    limit = billing_customer_create.max_retries
    _as_worker(billing_customer_create, kwargs={"tenant_id": 7}, retries=limit)
    try:
        with pytest.raises(PaymentProviderUnavailable):
            billing_customer_create.retry(
                exc=PaymentProviderUnavailable("Stripe is down."), countdown=900
            )
    finally:
        billing_customer_create.pop_request()
    assert not OutboxMessage.objects.exists()


def test_a_relay_run_is_asked_for_once_per_window_to_start_when_it_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`outbox_enqueue_by_relay`'s rows: a process asks for at most one relay run per window,
    and the run starts when the window ends, after every row the process committed in it."""
    asked: list[dict[str, Any]] = []

    class RelayTask:
        def apply_async(self, **options: Any) -> None:
            asked.append(options)

    now = [500.0]
    monkeypatch.setattr(services, "_task", lambda name: RelayTask())
    monkeypatch.setattr(services, "_clock", lambda: now[0])
    monkeypatch.setattr(services, "_relay_requested_at", float("-inf"))
    monkeypatch.setattr(services, "_handover_paused_until", 0.0)
    window = services.RELAY_REQUEST_WINDOW
    services.outbox_relay_request()
    now[0] += window / 2
    services.outbox_relay_request()  # inside the window: the run asked for will see this row
    assert asked == [{"countdown": window, "expires": 6 * RELAY_SECONDS, "retry": False}]
    now[0] += window
    services.outbox_relay_request()
    assert len(asked) == 2
