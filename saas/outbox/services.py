"""Work that must follow a commit, whatever the broker is doing.

`outbox_enqueue` writes the task as a row in the caller's transaction: it exists exactly when
the work it follows committed. Right after the commit the same process hands it to Celery
(best effort: if the broker is away the row is left due for the relay, and the request still
succeeds).
`outbox_enqueue_by_relay` is for high-volume work from outside (Stripe's webhook events):
the row is written due, in the same statement as the row it follows, and after commit one
relay run is requested instead of a hand-over per row (at most one per process every
RELAY_REQUEST_WINDOW), so a burst of a thousand events costs the web process a few relay
messages, not a thousand Celery publishes; the relay runs on a worker.
`outbox_relay` (Celery beat every few seconds, each worker once at start, and on request)
hands over every row that is due: not handed over yet, or handed over and still not run long
after (the broker lost it), with a backoff per row while the broker refuses. A worker deletes
the row once the task has run (`outbox_task_finished`).

Delivery is at least once: a task can run twice (a worker killed after the work but before
the delete, a broker redelivering). Every task sent this way must be idempotent.
"""

import json
import logging
import time
from datetime import timedelta
from importlib import import_module
from typing import Any

from celery import Task, current_app
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from kombu.utils import json as celery_json

from .beat import RELAY_SECONDS
from .models import OutboxMessage

logger = logging.getLogger(__name__)

# A countdown up to this goes to Celery with the task: a worker holds that message (not yet
# acknowledged) for the countdown, far inside the broker's visibility timeout. A longer one
# waits here as `due_at` and is handed over when due.
HANDOVER_MAX_COUNTDOWN = 30.0
# Once the broker refused a hand-over, this process leaves the next ones to the relay for
# this long, so that requests during an outage do not each wait on the broker.
HANDOVER_PAUSE_SECONDS = 5.0
RELAY_BATCH = 500
RELAY_MAX_BATCHES = 20  # per run: a backlog after a long outage drains over a few runs
RELAY_BACKOFF_MAX = timedelta(minutes=5)
REDELIVER_MAX = timedelta(hours=6)
HEADER = "outbox_id"  # on the task's message: which row to delete once the task ran

_handover_paused_until = 0.0

# A process asks for at most one relay run per window, to start when the window ends.
RELAY_REQUEST_WINDOW = 0.1
RELAY_TASK = "saas.outbox.tasks.outbox_relay"
_relay_requested_at = float("-inf")
_clock = time.monotonic


def outbox_enqueue(
    task_name: str, kwargs: dict[str, Any], *, countdown: float | None = None, retries: int = 0
) -> None:
    """Run the task `task_name(**kwargs)` once the caller's transaction commits (`countdown`
    seconds later if given), in the caller's schema. `retries`: which retry this is."""
    _task(task_name)  # an unknown name fails here, in the caller's tests, not in a worker
    delay = max(countdown or 0.0, 0.0)
    message = OutboxMessage(
        task=task_name,
        kwargs=json.loads(celery_json.dumps(kwargs)),
        schema_name=connection.schema_name,  # type: ignore[attr-defined]  # django-tenants
        retries=retries,
        due_at=timezone.now() + timedelta(seconds=delay),
    )
    hand_over_now = delay <= HANDOVER_MAX_COUNTDOWN
    if hand_over_now:
        # Written as handed over, so that the hand-over right after commit costs no second
        # write; if it fails, `_hand_over` makes the row due at once.
        _mark_sent(message, countdown=delay)
    message.save()
    if hand_over_now:
        transaction.on_commit(lambda: _hand_over(message, countdown=delay), robust=True)


def _hand_over(message: OutboxMessage, *, countdown: float) -> None:
    """After commit: give the task to Celery. Never raises: the caller's work is committed.
    A row the broker did not take is made due for the relay (a process that dies before
    that leaves it due after the redelivery wait instead)."""
    global _handover_paused_until
    if _clock() >= _handover_paused_until:
        try:
            _publish(message, countdown=countdown)
            return
        except Exception:  # noqa: BLE001 - any broker failure: the relay sends it later
            _handover_paused_until = _clock() + HANDOVER_PAUSE_SECONDS
            logger.warning(
                "broker unavailable; %s waits in the outbox", message.task, exc_info=True
            )
    OutboxMessage.objects.filter(pk=message.pk).update(sent_at=None, sends=0, due_at=timezone.now())


_INSERT_WITH_ROW = """
WITH inserted AS ({insert}),
queued AS (
    INSERT INTO outbox_outboxmessage (
        task, kwargs, schema_name, retries, due_at, sent_at, sends, attempts, last_error,
        created_at
    )
    SELECT %s, jsonb_build_object(%s::text, inserted.id), %s, 0, %s, NULL, 0, 0, '', %s
    FROM inserted
)
SELECT id FROM inserted
"""


def outbox_enqueue_by_relay(
    insert: str, params: list[Any], *, task_name: str, kwarg: str
) -> int | None:
    """Runs `insert` (an `INSERT ... RETURNING id` that may insert nothing, e.g. ON CONFLICT
    DO NOTHING) and, in the same statement, a due outbox row for `task_name(kwarg=<id>)`:
    one round trip, atomic even outside a transaction. Returns the inserted id, or None.
    After commit a relay run is requested (`outbox_relay_request`)."""
    _task(task_name)
    now = timezone.now()
    schema = connection.schema_name  # type: ignore[attr-defined]  # django-tenants
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_WITH_ROW.format(insert=insert), [*params, task_name, kwarg, schema, now, now]
        )
        row = cursor.fetchone()
    if row is None:
        return None
    transaction.on_commit(outbox_relay_request, robust=True)
    return int(row[0])


def outbox_relay_request() -> None:
    """After commit: ask a worker for a relay run RELAY_REQUEST_WINDOW from now, unless this
    process asked less than that ago: the run it asked for starts after this commit, so it
    sees this row too. A burst thus costs each process one message per window, and no
    round trip per row. Never raises: the rows are due, and beat's relay hands them over
    within RELAY_SECONDS anyway (also if the worker's clock runs ahead of ours)."""
    global _handover_paused_until, _relay_requested_at
    now = _clock()
    if now < _handover_paused_until or now - _relay_requested_at < RELAY_REQUEST_WINDOW:
        return
    _relay_requested_at = now
    try:
        _publish_relay_run()
    except Exception:  # noqa: BLE001 - the broker is away: beat's relay sends them later
        _handover_paused_until = now + HANDOVER_PAUSE_SECONDS
        logger.warning("broker unavailable; the outbox relay sends later", exc_info=True)


def _publish_relay_run() -> None:
    _task(RELAY_TASK).apply_async(
        countdown=RELAY_REQUEST_WINDOW, expires=6 * RELAY_SECONDS, retry=False
    )


def outbox_relay() -> int:
    """Hand every due row to Celery; returns how many. Rows are locked while handed over,
    so relays running side by side never send one twice."""
    handed_over = 0
    for _ in range(RELAY_MAX_BATCHES):
        count, more = _relay_batch()
        handed_over += count
        if not more:
            break
    return handed_over


@transaction.atomic
def _relay_batch() -> tuple[int, bool]:
    due = list(
        OutboxMessage.objects.select_for_update(skip_locked=True)
        .filter(due_at__lte=timezone.now())
        .order_by("due_at")[:RELAY_BATCH]
    )
    handed_over = 0
    for message in due:
        if message.sends:
            logger.warning(
                "outbox: %s handed over %s times and not run; again", message.task, message.sends
            )
        try:
            _publish(message)
        except Exception as exc:  # noqa: BLE001 - the broker is likely away: stop this run
            _postpone(message, exc)
            break
        _mark_sent(message, countdown=0.0)
        message.save(update_fields=["sent_at", "sends", "due_at"])
        handed_over += 1
    return handed_over, len(due) == RELAY_BATCH and handed_over == len(due)


def outbox_task_finished(outbox_id: int) -> None:
    """A worker ran the task a row carried (to success, failure or a retry of its own)."""
    OutboxMessage.objects.filter(pk=outbox_id).delete()


def _mark_sent(message: OutboxMessage, *, countdown: float) -> None:
    """Handed over: due again only if the task has not run by then. Long enough for the
    broker's own redelivery of a killed worker's task to come first; doubling with each
    hand-over, so a backlog is not flooded with copies."""
    wait = timedelta(seconds=settings.OUTBOX_REDELIVER_AFTER_SECONDS) * 2 ** min(message.sends, 8)
    message.sends += 1
    message.sent_at = timezone.now()
    message.due_at = message.sent_at + timedelta(seconds=countdown) + min(wait, REDELIVER_MAX)


def _postpone(message: OutboxMessage, exc: Exception) -> None:
    message.attempts += 1
    message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    backoff = min(timedelta(seconds=2**message.attempts), RELAY_BACKOFF_MAX)
    message.due_at = timezone.now() + backoff
    message.save(update_fields=["attempts", "last_error", "due_at"])
    logger.warning(
        "outbox: broker refused %s (%s times); next try in %s",
        message.task,
        message.attempts,
        backoff,
        exc_info=True,
    )


def _publish(message: OutboxMessage, *, countdown: float | None = None) -> None:
    _task(message.task).apply_async(
        kwargs=celery_json.loads(json.dumps(message.kwargs)),
        countdown=countdown or None,
        retries=message.retries,
        headers={"_schema_name": message.schema_name, HEADER: message.pk},
        retry=False,  # one try: the relay tries again later; a request never waits on retries
    )


def _task(name: str) -> Task:
    """The task registered as `name`, its module imported first if this process has not yet
    (a web process imports a task module only when some code there uses the task)."""
    if name not in current_app.tasks:
        import_module(name.rpartition(".")[0])
    return current_app.tasks[name]
