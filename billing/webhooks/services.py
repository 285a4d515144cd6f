"""Stripe events: received and stored once, processed once, retried, replayed, reconciled.

Receiving verifies the signature on the raw body and inserts the event under its unique Stripe
id (a concurrent or later copy inserts nothing) and, in the same statement, its processing
task into the outbox (saas.outbox), handed to Celery by a relay run: a broker outage delays
processing, never loses it.
Processing locks the event's row for the whole run and re-checks its state, so copies of the
task wait for each other and the second finds the work done; a run killed midway rolls back
with its connection and is simply run again.
"""

import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing import gateway
from billing.services.invoices import invoices_refresh
from billing.services.subscriptions import account_for_update
from saas.errors import InvalidInput
from saas.outbox.services import outbox_enqueue, outbox_enqueue_by_relay
from tenants.models import Tenant

from ..models import EventSource, EventState, WebhookEvent
from . import handlers

logger = logging.getLogger(__name__)

FINISHED = (EventState.DONE, EventState.IGNORED)
PROCESS_TASK = "billing.webhooks.tasks.webhook_event_process_task"


@dataclass(frozen=True)
class Received:
    id: int
    created: bool  # False: Stripe (or reconciliation) had delivered this event before


def webhook_event_receive(*, payload: bytes, signature_header: str) -> Received:
    """Verify a webhook delivery and store its event. No Stripe call, no tenant work."""
    try:
        event = gateway.webhook_event_verify(
            payload=payload,
            signature_header=signature_header,
            secrets=settings.STRIPE_WEBHOOK_SECRETS,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        )
    except (ValueError, TypeError) as exc:  # signed, but not JSON (or not a JSON object)
        raise InvalidInput("The body is not a JSON event.", code="malformed_event") from exc
    # The verified bytes are stored as sent: no second serialisation on the hot path.
    return webhook_event_record(event=event, source=EventSource.WEBHOOK, raw=payload.decode())


def _validated(event: Any) -> tuple[str, str, int, dict[str, Any]]:
    if not isinstance(event, dict):
        raise InvalidInput("The body is not a Stripe event.", code="malformed_event")
    event_id, type_, created = event.get("id"), event.get("type"), event.get("created")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not (
        isinstance(event_id, str)
        and event_id
        and isinstance(type_, str)
        and type_
        and isinstance(created, int)
        and isinstance(obj, dict)
    ):
        raise InvalidInput("The body is not a Stripe event.", code="malformed_event")
    return event_id, type_, created, obj


def _json_default(value: Any) -> str:
    # The SDK turns Stripe's decimal strings ("amount_decimal": "9.5") into Decimals.
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


_INSERT = """
INSERT INTO billing_webhookevent (
    stripe_event_id, type, stripe_created, livemode, payload, source, state, attempts,
    last_error, note, received_at, updated_at
) VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, 0, '', '', %s, %s)
ON CONFLICT (stripe_event_id) DO NOTHING
RETURNING id
"""


def webhook_event_record(*, event: dict[str, Any], source: str, raw: str | None = None) -> Received:
    """Store `event` unless stored already, with the outbox row of its processing: one
    statement, atomic and safe under concurrency (a copy inserts nothing). Processing is
    handed to Celery by a relay run (saas.outbox), so a burst of events costs the web process
    no Celery publish per event."""
    event_id, type_, created, _ = _validated(event)
    now = timezone.now()
    params: list[Any] = [
        event_id,
        type_[:100],
        created,
        bool(event.get("livemode")),
        raw if raw is not None else json.dumps(event, default=_json_default),
        source,
        EventState.PENDING,
        now,
        now,
    ]
    pk = outbox_enqueue_by_relay(_INSERT, params, task_name=PROCESS_TASK, kwarg="event_pk")
    if pk is None:
        pk = WebhookEvent.objects.values_list("pk", flat=True).get(stripe_event_id=event_id)
        return Received(id=pk, created=False)
    return Received(id=pk, created=True)


def webhook_event_enqueue(*, event_pk: int, countdown: float | None = None) -> None:
    """Queue processing once the caller's transaction commits. Processing re-checks the
    event's state under its row lock, so a second delivery of the task does nothing."""
    outbox_enqueue(
        PROCESS_TASK,
        {"event_pk": event_pk},
        countdown=countdown,
    )


# ---- processing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Processed:
    state: str
    retry_in: float | None = None  # seconds until the next automatic attempt, if any


def retry_delay(attempts: int) -> float:
    """Exponential backoff with jitter: half the step fixed, half random, capped."""
    step = min(
        settings.STRIPE_WEBHOOK_RETRY_MAX_SECONDS,
        settings.STRIPE_WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1),
    )
    return step / 2 + random.uniform(0, step / 2)  # noqa: S311 - jitter, not secrecy


def _claim(event_pk: int, *, force: bool) -> bool:
    """Mark the event processing (visible in the admin) unless another run holds it now or
    it is finished. A run that died left `processing` behind, unlocked: we take over."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update(skip_locked=True).filter(pk=event_pk).first()
        if event is None or (event.state in FINISHED and not force):
            return False
        event.state = EventState.PROCESSING
        event.attempts += 1
        event.started_at = timezone.now()
        event.next_attempt_at = None
        event.save(
            update_fields=["state", "attempts", "started_at", "next_attempt_at", "updated_at"]
        )
    return True


def webhook_event_process(*, event_pk: int, force: bool = False) -> Processed:
    """Run the event's handler once. `force` runs a finished event again (replay); emails
    are keyed by (event, kind), so a replay never sends one twice."""
    if not _claim(event_pk, force=force):
        state = WebhookEvent.objects.filter(pk=event_pk).values_list("state", flat=True).first()
        return Processed(state=state or "missing")
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.select_for_update().get(pk=event_pk)
            if event.state in FINISHED and not force:
                return Processed(state=event.state)  # a copy of this task finished first
            outcome = handlers.handle(event)
            event.state = outcome.state
            event.note = outcome.note[:200]
            event.account = outcome.account
            event.last_error = ""
            event.processed_at = timezone.now()
            event.save()
            return Processed(state=event.state)
    except Exception as exc:
        logger.exception("stripe event failed", extra={"event_pk": event_pk})
        return _failed(event_pk, exc)


def _failed(event_pk: int, exc: Exception) -> Processed:
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_pk)
        retry_in = None
        if event.attempts < settings.STRIPE_WEBHOOK_MAX_ATTEMPTS:
            retry_in = retry_delay(event.attempts)
        event.state = EventState.FAILED
        event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        event.next_attempt_at = timezone.now() + timedelta(seconds=retry_in) if retry_in else None
        event.save(update_fields=["state", "last_error", "next_attempt_at", "updated_at"])
    return Processed(state=EventState.FAILED, retry_in=retry_in)


# ---- replay, sweep, reconciliation ---------------------------------------------------------


def webhook_events_select(
    *,
    ids: list[str] | None = None,
    types: list[str] | None = None,
    since: int | None = None,
    until: int | None = None,
    states: list[str] | None = None,
) -> list[int]:
    """Primary keys of stored events matching every given filter, oldest first. Event ids
    are Stripe's (evt_...); `since`/`until` are Stripe `created` unix seconds."""
    events = WebhookEvent.objects.all()
    if ids:
        events = events.filter(stripe_event_id__in=ids)
    if types:
        events = events.filter(type__in=types)
    if since is not None:
        events = events.filter(stripe_created__gte=since)
    if until is not None:
        events = events.filter(stripe_created__lte=until)
    if states:
        events = events.filter(state__in=states)
    return list(events.order_by("stripe_created", "id").values_list("pk", flat=True))


def webhook_events_sweep(*, older_than_seconds: int = 300) -> int:
    """Re-queue what a lost message or a dead worker left behind: pending events, stale
    `processing` ones and failed ones whose retry is long overdue. Idempotent: processing
    re-checks the state under the row lock."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=older_than_seconds)
    stale = (
        WebhookEvent.objects.filter(state=EventState.PENDING, received_at__lt=cutoff)
        .union(
            WebhookEvent.objects.filter(state=EventState.PROCESSING, started_at__lt=cutoff),
            WebhookEvent.objects.filter(state=EventState.FAILED, next_attempt_at__lt=cutoff),
        )
        .values_list("pk", flat=True)
    )
    pks = list(stale[:1000])
    for pk in pks:
        webhook_event_enqueue(event_pk=pk)
    return len(pks)


def webhook_events_reconcile(*, hours: int | None = None) -> int:
    """Ingest the recent Stripe events we never received (undelivered ones by default)."""
    window = hours if hours is not None else settings.STRIPE_EVENTS_RECONCILE_HOURS
    since = int(time.time()) - window * 3600
    added = 0
    for event in gateway.events_since(
        created_gte=since, undelivered_only=settings.STRIPE_EVENTS_RECONCILE_UNDELIVERED_ONLY
    ):
        if event.get("type") not in handlers.HANDLERS:
            continue
        added += webhook_event_record(event=event, source=EventSource.RECONCILE).created
    if added:
        logger.warning("reconciliation found %s undelivered stripe events", added)
    return added


# ---- drift ---------------------------------------------------------------------------


def billing_account_sync(*, tenant: Tenant) -> str:
    """Mirror the tenant's subscription and every invoice as Stripe has them now: corrects
    whatever events were missed. Idempotent."""
    with transaction.atomic():
        account = account_for_update(tenant=tenant)
        if account.stripe_subscription_id:
            account, _, _ = handlers.subscription_sync(account, account.stripe_subscription_id)
    invoices_refresh(account=account)
    return str(account.status)
