"""Writes of outbound webhooks: endpoints (registered by an organization's owners and admins),
events (recorded by the services whose change causes them, in their transaction) and
deliveries (attempted by a Celery task, retried with backoff, replayed on request).

Delivery is at least once. An event's deliveries are queued through the outbox in the
transaction that records it; a delivery's retry is queued the same way in the transaction
that records the failed attempt (a long backoff waits as an outbox row, not in the broker).
A worker takes a delivery with a lease (`lease_until`), so two copies of its task never
send it at the same time, and a worker killed mid-request leaves it to the next copy once
the lease has passed (the outbox hands the task over again until some worker ran it).

An event with several subscribed endpoints costs the write path one outbox row and one
hand-over to the broker whatever their number: a fan-out task (`webhook_event_fan_out`) then
queues each delivery's task through the outbox on the worker, in one transaction. Its own row
is deleted only once it ran, so a worker killed before it committed leaves it to be handed
over again; run twice, it queues copies that find their delivery taken or done.

Ordering, per endpoint, for the catalog's ordered types only (`EventType.ordered`: member.*,
subscription.*): a delivery of an ordered type is not attempted while an earlier one (by the
event's `created_at`, then id) of an ordered type to the same endpoint is still pending,
retries included; it waits, pending, without a task of its own. When the earlier one is
delivered or fails for good, the next one waiting is queued. "Earlier" is the order in which
the events were recorded; a replayed ordered delivery is pending again, so later ordered
events to the endpoint wait for it. Other types are never held back, and are not ordered: a
retry can be overtaken by everything. Receivers order those by the payload's `timestamp`,
and drop duplicates by the `webhook-id` header (the same for every attempt and replay of an
event).

Auto-disable: an endpoint is disabled when one of its deliveries has used its whole retry
schedule (about 3 days by default) without any delivery to the endpoint succeeding since
that delivery's first attempt, i.e. after failing without a break for the whole schedule.
Its owners and admins get an email; enabling it again (PATCH enabled=true) starts afresh.
"""

import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, Q, QuerySet, Value
from django.utils import timezone

from accounts.models import Membership, Role
from billing.models import BillingAccount
from billing.services.entitlements import entitlement_require
from saas.audit.services import audit_entry_record
from saas.errors import Conflict, InvalidInput
from saas.mail import email_send_later
from saas.outbox.services import outbox_enqueue
from tenants.models import Tenant

from . import signing
from .catalog import EVENT_TYPES, ORDERED, SUBSCRIBABLE, TEST_EVENT, event_type_matches
from .models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .network import EndpointRefused, Outcome, deliver, endpoint_url_check
from .selectors import webhook_delivery_get, webhook_endpoint_get

DELIVER_TASK = "saas.webhooks_out.tasks.webhook_deliver"
FAN_OUT_TASK = "saas.webhooks_out.tasks.webhook_event_fan_out"
FEATURE = "api"  # the developer platform: Starter and up
REPLAY_MAX = 1000


# ---- endpoints ----------------------------------------------------------------------------


def _disabled() -> Conflict:
    return Conflict("The endpoint is disabled; enable it first.", code="webhook_endpoint_disabled")


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, extra={"fields": {field: [message]}})


def _url_check(url: str) -> None:
    try:
        endpoint_url_check(url)
    except EndpointRefused as exc:
        raise _invalid("url", str(exc)) from exc


def _event_types_check(event_types: list[str]) -> list[str]:
    unknown = [name for name in event_types if name not in SUBSCRIBABLE]
    if unknown:
        raise _invalid("event_types", f"Unknown event types: {', '.join(unknown[:5])}.")
    if not event_types:
        raise _invalid("event_types", "Choose at least one event type.")
    return list(dict.fromkeys(event_types))


def webhook_endpoint_create(
    *,
    tenant: Tenant,
    url: str,
    event_types: list[str],
    description: str = "",
    enabled: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned here only, stored encrypted)."""
    types = _event_types_check(event_types)
    _url_check(url)  # resolves the host: outside the transaction's locks
    secret = signing.secret_generate()
    with transaction.atomic():
        entitlement_require(tenant=tenant, feature=FEATURE)  # locks the billing account row
        limit = settings.WEBHOOKS_ENDPOINTS_PER_TENANT
        if WebhookEndpoint.objects.count() >= limit:
            raise Conflict(
                f"An organization may have at most {limit} webhook endpoints; delete one first.",
                code="webhook_endpoint_limit_reached",
            )
        endpoint = WebhookEndpoint.objects.create(
            url=url,
            description=description,
            event_types=types,
            enabled=enabled,
            secret_encrypted=signing.secret_encrypt(secret),
        )
        _audit(
            "webhook_endpoint.created",
            endpoint,
            url=(None, url),
            event_types=(None, types),
            enabled=(None, enabled),
        )
    return endpoint, secret


_EDITABLE = ("url", "description", "event_types", "enabled")


def webhook_endpoint_update(*, tenant: Tenant, endpoint_id: int, **changes: Any) -> WebhookEndpoint:
    """`changes`: any of url, description, event_types, enabled. Enabling a disabled endpoint
    clears its failure record; queued deliveries are not resent (replay them)."""
    if "event_types" in changes:
        changes["event_types"] = _event_types_check(changes["event_types"])
    if "url" in changes:
        _url_check(changes["url"])
    with transaction.atomic():
        if set(changes) & {"url", "event_types"} or changes.get("enabled") is True:
            # Turning one off or renaming it stays possible after a downgrade.
            entitlement_require(tenant=tenant, feature=FEATURE)
        found = webhook_endpoint_get(endpoint_id=endpoint_id)
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=found.pk)
        before = {name: getattr(endpoint, name) for name in _EDITABLE}
        for name in _EDITABLE:
            if name in changes:
                setattr(endpoint, name, changes[name])
        if changes.get("enabled") is True and not before["enabled"]:
            endpoint.failing_since, endpoint.disabled_reason = None, ""
        elif changes.get("enabled") is False:
            endpoint.disabled_reason = "Disabled by a member."
        endpoint.save()
        changed = {
            name: (before[name], getattr(endpoint, name))
            for name in _EDITABLE
            if before[name] != getattr(endpoint, name)
        }
        if changed:
            _audit("webhook_endpoint.updated", endpoint, **changed)
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint_id: int) -> None:
    """Deletes the endpoint, its deliveries and their attempts; queued tasks find nothing."""
    found = webhook_endpoint_get(endpoint_id=endpoint_id)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=found.pk)
    url = endpoint.url
    endpoint.delete()
    endpoint.pk = found.pk
    _audit("webhook_endpoint.deleted", endpoint, url=(url, None))


@transaction.atomic
def webhook_endpoint_secret_rotate(*, endpoint_id: int) -> tuple[WebhookEndpoint, str]:
    """A new secret (returned here only). The one it replaces keeps signing beside it for
    WEBHOOKS_SECRET_OVERLAP_SECONDS, so receivers can switch without missing an event."""
    found = webhook_endpoint_get(endpoint_id=endpoint_id)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=found.pk)
    secret = signing.secret_generate()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = timezone.now() + timedelta(
        seconds=settings.WEBHOOKS_SECRET_OVERLAP_SECONDS
    )
    endpoint.secret_encrypted = signing.secret_encrypt(secret)
    endpoint.save(
        update_fields=[
            "secret_encrypted",
            "previous_secret_encrypted",
            "previous_secret_expires_at",
            "updated_at",
        ]
    )
    _audit(
        "webhook_endpoint.secret_rotated",
        endpoint,
        previous_secret_expires_at=(None, endpoint.previous_secret_expires_at.isoformat()),
    )
    return endpoint, secret


def _audit(action: str, endpoint: WebhookEndpoint, **changes: tuple[Any, Any]) -> None:
    audit_entry_record(
        action=action,
        target_type="webhook_endpoint",
        target_id=endpoint.pk,
        changes={field: {"before": b, "after": a} for field, (b, a) in changes.items()},
    )


# ---- events -------------------------------------------------------------------------------


def _plan_has_webhooks() -> Exists | Value:
    """After a downgrade the endpoints stay (to be deleted, or used again after an upgrade)
    but get nothing. An EXISTS read with the endpoints, in the same query: PostgreSQL runs it
    once, and only when some enabled endpoint is there (so it costs no query of its own)."""
    tenant = getattr(connection, "tenant", None)
    if tenant is None or not getattr(tenant, "pk", None):
        return Value(True)  # a schema entered by name only (no tenant row to ask about)
    return Exists(
        BillingAccount.objects.filter(tenant_id=tenant.pk, plan__features__contains=[FEATURE])
    )


def _new_event(event_type: str, data: dict[str, Any]) -> WebhookEvent:
    return WebhookEvent.objects.create(
        msg_id=f"msg_{secrets.token_urlsafe(18)}",
        type=event_type,
        data=json.loads(json.dumps(data, default=str)),
        created_at=timezone.now(),
    )


def _queue(delivery_ids: list[int], *, countdown: float = 0.0) -> None:
    for delivery_id in delivery_ids:
        outbox_enqueue(DELIVER_TASK, {"delivery_id": delivery_id}, countdown=countdown)


def webhook_event_record(
    *, event_type: str, data: dict[str, Any], tenant: Tenant | None = None
) -> WebhookEvent | None:
    """Record `event_type` with `data` for every enabled endpoint subscribed to it, in the
    caller's transaction, in the current schema or `tenant`'s (for changes to public rows,
    such as memberships). With no such endpoint it writes nothing and costs one query (the
    organization's enabled endpoints: a scan of a table of at most
    WEBHOOKS_ENDPOINTS_PER_TENANT rows, which also checks that the plan still has the
    feature); with some, three writes (the event, its deliveries, one outbox row) and one
    hand-over to the broker after commit, however many endpoints."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"{event_type!r} is not in the webhook catalog")
    current = getattr(connection, "schema_name", None)
    if tenant is not None and tenant.schema_name != current:
        with tenant:
            return webhook_event_record(event_type=event_type, data=data)
    subscribed = [
        endpoint_id
        for endpoint_id, types, plan_has_webhooks in WebhookEndpoint.objects.filter(enabled=True)
        .annotate(plan_has_webhooks=_plan_has_webhooks())
        .values_list("id", "event_types", "plan_has_webhooks")
        if plan_has_webhooks and event_type_matches(types, event_type)
    ]
    if not subscribed:
        return None
    # No savepoint inside the caller's transaction (two statements saved per event): an
    # error here rolls back the caller's change too, as an event must not go missing.
    with transaction.atomic(savepoint=False):
        event = _new_event(event_type, data)
        deliveries = WebhookDelivery.objects.bulk_create(
            WebhookDelivery(endpoint_id=endpoint_id, event=event, next_attempt_at=event.created_at)
            for endpoint_id in subscribed
        )
        delivery_ids = [delivery.pk for delivery in deliveries]
        if len(delivery_ids) == 1:
            _queue(delivery_ids)
        else:
            outbox_enqueue(FAN_OUT_TASK, {"delivery_ids": delivery_ids})
    return event


@transaction.atomic
def webhook_event_fan_out(*, delivery_ids: list[int]) -> int:
    """The fan-out task's body, on a worker: queue each delivery's task through the outbox,
    in one transaction (all or none); returns how many. Deliveries gone since (their endpoint
    was deleted) are skipped; a copy run twice queues tasks that find nothing to do."""
    found = list(
        WebhookDelivery.objects.filter(pk__in=delivery_ids, status=DeliveryStatus.PENDING)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    _queue(found)
    return len(found)


@transaction.atomic
def webhook_endpoint_test_send(*, endpoint_id: int) -> WebhookDelivery:
    """A `webhook.test` event to this one endpoint, delivered like any other."""
    endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)
    if not endpoint.enabled:
        raise _disabled()
    event = _new_event(
        TEST_EVENT.name,
        {"endpoint_id": endpoint.pk, "message": "A test event, sent on request."},
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, next_attempt_at=event.created_at
    )
    _queue([delivery.pk])
    return delivery


# ---- replays ------------------------------------------------------------------------------


def _reopen(delivery: WebhookDelivery, now: datetime) -> None:
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.first_attempt_at = None
    delivery.lease_until = None


@transaction.atomic
def webhook_delivery_replay(*, endpoint_id: int, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again now (same event, same `webhook-id`): a delivered or failed one
    as a new run of attempts, one waiting for a retry without waiting further. One that is
    due already (queued, or being sent) is left as it is: replaying twice, or twice at once,
    queues one send."""
    endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)
    if not endpoint.enabled:
        raise _disabled()
    found = webhook_delivery_get(endpoint_id=endpoint_id, delivery_id=delivery_id)
    delivery = WebhookDelivery.objects.select_for_update().select_related("event").get(pk=found.pk)
    now = timezone.now()
    if delivery.status == DeliveryStatus.PENDING:
        if delivery.next_attempt_at is not None and delivery.next_attempt_at <= now:
            return delivery
        delivery.next_attempt_at = now
    else:
        _reopen(delivery, now)
    delivery.save()
    _queue([delivery.pk])
    return delivery


@transaction.atomic
def webhook_deliveries_replay(
    *, endpoint_id: int, since: datetime, until: datetime, status: str | None = None
) -> int:
    """Replay the endpoint's deliveries created in [since, until) that are not pending
    (only `status` ones if given: failed or delivered), oldest first, at most REPLAY_MAX;
    returns how many. Rows another replay holds are skipped, so two at once replay each
    delivery once."""
    endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)
    if not endpoint.enabled:
        raise _disabled()
    if until <= since:
        raise _invalid("until", "Must be after since.")
    rows = WebhookDelivery.objects.filter(
        endpoint_id=endpoint_id, created_at__gte=since, created_at__lt=until
    ).exclude(status=DeliveryStatus.PENDING)
    if status:
        rows = rows.filter(status=status)
    now = timezone.now()
    deliveries = list(
        rows.select_for_update(skip_locked=True).order_by("created_at", "id")[:REPLAY_MAX]
    )
    for delivery in deliveries:
        _reopen(delivery, now)
    WebhookDelivery.objects.bulk_update(
        deliveries, ["status", "attempts", "next_attempt_at", "first_attempt_at", "lease_until"]
    )
    _queue([delivery.pk for delivery in deliveries])
    return len(deliveries)


# ---- delivery -----------------------------------------------------------------------------


class DeliveryHeld(Exception):  # noqa: N818 - a state, not a failure
    """Another run holds the delivery (or held it and died): try again once its lease ends."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(f"held by another run for {retry_in:.1f} s")
        self.retry_in = retry_in


def _lease() -> timedelta:
    # Longer than one attempt can take: connect, then the answer within one deadline (each
    # bounded by the timeout), plus the recording.
    return timedelta(seconds=3 * settings.WEBHOOKS_TIMEOUT_SECONDS + 5)


def _claim(delivery_id: int, now: datetime) -> WebhookDelivery | None:
    """Take the delivery for one attempt if it is due and nobody holds it. None when there
    is nothing to do (sent, failed for good, gone, or not due: its retry is queued);
    DeliveryHeld when another run holds it (a duplicate of this task, or a killed worker's
    run whose lease has not passed yet)."""
    due = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    )
    taken = due.filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now)).update(
        lease_until=now + _lease()
    )
    if not taken:
        held_until = due.values_list("lease_until", flat=True).first()
        if held_until is not None:
            raise DeliveryHeld(max((held_until - now).total_seconds(), 0.0) + 1.0)
        return None
    return WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)


def _secrets_in_force(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    found = [signing.secret_decrypt(endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires is not None and expires > now:
        found.append(signing.secret_decrypt(endpoint.previous_secret_encrypted))
    return found


def webhook_message(event: WebhookEvent) -> bytes:
    """The body: `{"type", "timestamp", "data"}` as the Standard Webhooks spec shows it."""
    payload = {"type": event.type, "timestamp": event.created_at.isoformat(), "data": event.data}
    return json.dumps(payload, separators=(",", ":")).encode()


def _pending_in_order(endpoint_id: int) -> QuerySet[WebhookDelivery]:
    """The endpoint's pending deliveries of ordered types."""
    return WebhookDelivery.objects.filter(
        endpoint_id=endpoint_id, status=DeliveryStatus.PENDING, event__type__in=ORDERED
    )


@transaction.atomic
def _waits_for_earlier(delivery: WebhookDelivery) -> bool:
    """An ordered delivery with an earlier ordered one to its endpoint still pending gives
    its lease back and waits (True): the earlier one's record queues it. The endpoint's row
    is locked first, as `_record` locks it: either that record committed and this sees the
    earlier one done, or it waits for this to commit and then finds this one waiting."""
    list(
        WebhookEndpoint.objects.select_for_update(no_key=True)
        .filter(pk=delivery.endpoint_id)
        .values_list("pk", flat=True)
    )
    event = delivery.event
    earlier = (
        _pending_in_order(delivery.endpoint_id)
        .exclude(pk=delivery.pk)
        .filter(
            Q(event__created_at__lt=event.created_at)
            | Q(event__created_at=event.created_at, event_id__lt=event.pk)
        )
        .exists()
    )
    if earlier:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(lease_until=None)
    return earlier


def _queue_next_in_order(delivery: WebhookDelivery, now: datetime) -> None:
    """An ordered delivery is done (delivered, or failed for good): queue the endpoint's
    first ordered delivery still pending, if any (when its retry is due, if it has one)."""
    following = (
        _pending_in_order(delivery.endpoint_id)
        .exclude(pk=delivery.pk)
        .order_by("event__created_at", "event_id")
        .values_list("pk", "next_attempt_at")
        .first()
    )
    if following is not None:
        delivery_id, due = following
        _queue([delivery_id], countdown=max((due - now).total_seconds(), 0.0) if due else 0.0)


def webhook_delivery_attempt(*, delivery_id: int) -> str:
    """One attempt of a delivery (the Celery task's body): the delivery's status after it,
    "skipped" when it was not due or is gone, "waiting" when it is of an ordered type and
    an earlier one to its endpoint is still pending; DeliveryHeld while another run holds
    it. The HTTP request runs outside any transaction; its outcome is recorded in one."""
    now = timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return "skipped"
    if delivery.event.type in ORDERED and _waits_for_earlier(delivery):
        return "waiting"
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        outcome = Outcome(None, 0, "", "The endpoint is disabled.")
    else:
        outcome = _send(delivery, endpoint, now)
    return _record(delivery_id, now, outcome, final=not endpoint.enabled)


def _send(delivery: WebhookDelivery, endpoint: WebhookEndpoint, now: datetime) -> Outcome:
    try:
        in_force = _secrets_in_force(endpoint, now)
    except InvalidToken:  # encrypted under another SECRET_KEY: nothing we could sign with
        return Outcome(None, 0, "", "The signing secret cannot be read here: rotate it.")
    body = webhook_message(delivery.event)
    timestamp = int(now.timestamp())
    msg_id = delivery.event.msg_id
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(
            in_force, msg_id=msg_id, timestamp=timestamp, body=body
        ),
    }
    return deliver(endpoint.url, body=body, headers=headers)


@transaction.atomic
def _record(delivery_id: int, started: datetime, outcome: Outcome, *, final: bool) -> str:
    # Locks the endpoint's row too (see _waits_for_earlier), not the event's, which the
    # event's other deliveries share.
    delivery = (
        WebhookDelivery.objects.select_for_update(of=("self", "endpoint"))
        .select_related("endpoint", "event")
        .filter(pk=delivery_id)
    ).first()
    if delivery is None:  # the endpoint was deleted meanwhile
        return "skipped"
    now = timezone.now()
    WebhookAttempt.objects.create(
        delivery=delivery,
        attempted_at=started,
        succeeded=outcome.succeeded,
        status_code=outcome.status_code,
        latency_ms=outcome.latency_ms,
        response_excerpt=outcome.excerpt[: settings.WEBHOOKS_RESPONSE_MAX_BYTES],
        error=outcome.error[:500],
    )
    delivery.attempts += 1
    delivery.first_attempt_at = delivery.first_attempt_at or started
    delivery.last_attempt_at = started
    delivery.last_status_code = outcome.status_code
    delivery.last_latency_ms = outcome.latency_ms
    delivery.last_error = outcome.error[:500]
    delivery.lease_until = None
    endpoint = delivery.endpoint
    schedule = list(settings.WEBHOOKS_RETRY_SCHEDULE)
    if outcome.succeeded:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
    else:
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
            failing_since=started
        )
        if not final and delivery.attempts <= len(schedule):
            delay = float(schedule[delivery.attempts - 1])
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            _queue([delivery.pk], countdown=delay)
        else:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
            if not final:
                _disable_if_failing(endpoint.pk, since=delivery.first_attempt_at)
    delivery.save()
    if delivery.status != DeliveryStatus.PENDING and delivery.event.type in ORDERED:
        _queue_next_in_order(delivery, now)
    return delivery.status


def _disable_if_failing(endpoint_id: int, *, since: datetime) -> None:
    """A delivery used its whole schedule: disable the endpoint if nothing was delivered to
    it since that delivery's first attempt, and tell the organization's owners and admins."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    if not endpoint.enabled or endpoint.failing_since is None or endpoint.failing_since > since:
        return
    endpoint.enabled = False
    endpoint.disabled_reason = "Every delivery attempt failed for the whole retry schedule."
    endpoint.save(update_fields=["enabled", "disabled_reason", "updated_at"])
    _audit("webhook_endpoint.disabled", endpoint, enabled=(True, False))
    tenant: Tenant = connection.tenant  # type: ignore[attr-defined]  # django-tenants
    admins = Membership.objects.filter(
        tenant_id=tenant.pk, role__in=(Role.OWNER, Role.ADMIN)
    ).select_related("user")
    for membership in admins:
        email_send_later(
            template="webhook_endpoint_disabled",
            to=membership.user.email,
            context={
                "organization": tenant.name,
                "url": endpoint.url,
                "endpoint_id": endpoint.pk,
                "failing_since": endpoint.failing_since.isoformat(),
            },
        )
