"""Metered usage: per-minute request counts in Redis (billing.throttling) become UsageRecord
rows in the tenant's schema, which are then reported to Stripe as meter events.

Both steps are safe to repeat. A bucket becomes one row whose `identifier` is
f"{tenant_id}-{bucket}" (unique), and the Redis counter is dropped only after the row is
committed, so a crash in between re-finds the row instead of counting again. Reporting sends
that identifier to Stripe, which counts an identifier once; `reported_at` marks it done.
"""

import logging
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from billing import gateway
from billing.errors import InvalidBillingRequest
from billing.ledger.models import UsageRecord
from billing.models import BillingAccount
from billing.throttling import (
    WINDOW_SECONDS,
    bucket_of,
    open_buckets_key,
    redis_client,
    usage_key,
)

logger = logging.getLogger("billing.usage")

DEFAULT_METER_EVENT = "api_requests"


def _closed_buckets(now: float) -> list[tuple[int, int]]:
    """(tenant_id, bucket) pairs whose minute ended at least a full minute ago, so requests
    still in flight at the boundary have been counted."""
    newest_closed = bucket_of(now) - 2
    found = []
    for member in redis_client().smembers(open_buckets_key()):
        tenant_id, bucket = (int(part) for part in member.decode().split(":"))
        if bucket <= newest_closed:
            found.append((tenant_id, bucket))
    return sorted(found)


def _meter_event_name(account: BillingAccount) -> str:
    price = account.price
    return (price.meter_event_name if price and price.metered else "") or DEFAULT_METER_EVENT


def usage_collect(*, now: float | None = None) -> int:
    """Move closed usage buckets from Redis into UsageRecord rows; returns rows made."""
    moment = timezone.now().timestamp() if now is None else now
    client = redis_client()
    made = 0
    accounts: dict[int, BillingAccount | None] = {}
    for tenant_id, bucket in _closed_buckets(moment):
        if tenant_id not in accounts:
            accounts[tenant_id] = (
                BillingAccount.objects.select_related("tenant", "price")
                .filter(tenant_id=tenant_id)
                .first()
            )
        account = accounts[tenant_id]
        value = int(client.get(usage_key(tenant_id, bucket)) or 0)
        if account is not None and value > 0:
            made += _record(account, bucket, value)
        client.delete(usage_key(tenant_id, bucket))
        client.srem(open_buckets_key(), f"{tenant_id}:{bucket}")
    return made


def _occurred_at(account: BillingAccount, bucket: int) -> datetime:
    """The minute's start, or the period's start when the period began within that minute:
    requests are counted only while on a metered price, so all of them came after it, and
    Stripe bills an event only to the period its timestamp falls in."""
    minute = datetime.fromtimestamp(bucket * WINDOW_SECONDS, tz=UTC)
    start = account.current_period_start
    if start is not None and minute < start < minute + timedelta(seconds=WINDOW_SECONDS):
        return start
    return minute


def _record(account: BillingAccount, bucket: int, value: int) -> int:
    with account.tenant, transaction.atomic():
        _, created = UsageRecord.objects.get_or_create(
            identifier=f"{account.tenant_id}-{bucket}",
            defaults={
                "meter_event_name": _meter_event_name(account),
                "quantity": value,
                "occurred_at": _occurred_at(account, bucket),
            },
        )
    return int(created)


def usage_report(*, account: BillingAccount) -> int:
    """Send the tenant's unreported usage to Stripe; returns how many rows were reported."""
    if not account.stripe_customer_id:
        return 0
    reported = 0
    with account.tenant:
        while True:
            with transaction.atomic():
                # skip_locked: a concurrent reporter takes other rows instead of waiting.
                record = (
                    UsageRecord.objects.select_for_update(skip_locked=True)
                    .filter(reported_at__isnull=True)
                    .order_by("occurred_at", "id")
                    .first()
                )
                if record is None:
                    return reported
                _send(account.stripe_customer_id, record)
                record.reported_at = timezone.now()
                record.save(update_fields=["reported_at"])
                reported += 1


def _send(customer_id: str, record: UsageRecord) -> None:
    try:
        gateway.meter_event_create(
            event_name=record.meter_event_name,
            customer_id=customer_id,
            value=record.quantity,
            identifier=record.identifier,
            timestamp=int(record.occurred_at.timestamp()),
        )
    except InvalidBillingRequest as exc:
        if exc.extra.get("param") != "identifier":
            raise
        # Stripe already holds an event with this identifier: an earlier run sent it and
        # crashed before marking the row. It is counted; mark it reported.
        logger.info("meter event %s was already reported", record.identifier)


def usage_report_all() -> int:
    """Report every metered account's unreported usage (the beat job)."""
    reported = 0
    accounts = BillingAccount.objects.select_related("tenant", "price").filter(
        price__metered=True, stripe_customer_id__isnull=False
    )
    for account in accounts:
        reported += usage_report(account=account)
    return reported
