"""API usage: per-minute request counts in Redis (billing.throttling) become UsageRecord rows
in the tenant's schema, for every tenant (its usage report reads them); the metered ones are
then reported to Stripe as meter events.

Both steps are safe to repeat. A bucket becomes one row whose `identifier` is
f"{tenant_id}-{bucket}" (unique; a licensed bucket's ends in "-licensed"), and the Redis
counter is dropped only after the row is committed, so a crash in between re-finds the row
instead of counting again. Reporting sends that identifier to Stripe, which counts an
identifier once; `reported_at` marks it done. Whether a bucket is metered was decided when its
requests were served (the throttle counts them in separate keys), so a tenant that moves
between a licensed and a metered price within a period has both kinds of rows, and only the
metered ones are ever reported.

The collection works in batches of COLLECT_BATCH buckets: per batch one MGET, one query for
the accounts, per tenant one transaction (a SELECT of the identifiers it has and one INSERT),
then one pipeline dropping the counters. Its cost follows the tenants with traffic, not the
minutes each has.
"""

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from django.db import transaction
from django.db.models import Q
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
COLLECT_BATCH = 500


@dataclass(frozen=True)
class _Bucket:
    tenant_id: int
    bucket: int
    metered: bool

    @property
    def member(self) -> str:
        return f"{self.tenant_id}:{self.bucket}"

    @property
    def key(self) -> str:
        return usage_key(self.tenant_id, self.bucket, metered=self.metered)

    @property
    def identifier(self) -> str:
        suffix = "" if self.metered else "-licensed"
        return f"{self.tenant_id}-{self.bucket}{suffix}"


def _closed_buckets(client: Any, now: float) -> Iterator[_Bucket]:
    """Buckets whose minute ended at least a full minute ago, so requests still in flight at
    the boundary have been counted. SSCAN: a backlog (the collector was down) is read in
    steps, never as one reply."""
    newest_closed = bucket_of(now) - 2
    for metered in (True, False):
        for member in client.sscan_iter(open_buckets_key(metered=metered), count=COLLECT_BATCH):
            tenant_id, bucket = (int(part) for part in member.decode().split(":"))
            if bucket <= newest_closed:
                yield _Bucket(tenant_id, bucket, metered)


def _meter_event_name(account: BillingAccount) -> str:
    price = account.price
    return (price.meter_event_name if price and price.metered else "") or DEFAULT_METER_EVENT


def usage_collect(*, now: float | None = None) -> int:
    """Move closed usage buckets from Redis into UsageRecord rows; returns rows made."""
    moment = timezone.now().timestamp() if now is None else now
    client = redis_client()
    made = 0
    found = _closed_buckets(client, moment)
    # Members removed while SSCAN reads the set are fine: it still returns every member
    # present throughout (a repeat reads a dropped counter as 0 and makes nothing).
    while batch := list(islice(found, COLLECT_BATCH)):
        made += _collect_batch(client, batch)
    return made


def _collect_batch(client: Any, buckets: list[_Bucket]) -> int:
    values = client.mget([b.key for b in buckets])
    counted: dict[int, list[tuple[_Bucket, int]]] = defaultdict(list)
    for found, value in zip(buckets, values, strict=True):
        if int(value or 0) > 0:
            counted[found.tenant_id].append((found, int(value)))
    accounts = BillingAccount.objects.select_related("tenant", "price").in_bulk(
        list(counted), field_name="tenant_id"
    )
    made, kept = 0, set()
    for tenant_id, tenant_buckets in counted.items():
        account = accounts.get(tenant_id)
        if account is None:
            continue  # no billing account (the tenant is gone): nothing to count for
        try:
            made += _record(account, tenant_buckets)
        except Exception:
            # One tenant's failure (its schema mid-deletion) never stops the others; its
            # counters stay for the next run.
            logger.exception("usage collection failed for tenant %s", tenant_id)
            kept.add(tenant_id)
    pipe = client.pipeline(transaction=False)
    for done in buckets:
        if done.tenant_id not in kept:
            pipe.delete(done.key)
            pipe.srem(open_buckets_key(metered=done.metered), done.member)
    pipe.execute()
    return made


def _occurred_at(account: BillingAccount, found: _Bucket) -> datetime:
    """The minute's start; for a metered bucket, the period's start when the period began
    within that minute: metered requests are counted only while on a metered price, so all
    of them came after it, and Stripe bills an event only to the period its timestamp falls
    in."""
    minute = datetime.fromtimestamp(found.bucket * WINDOW_SECONDS, tz=UTC)
    start = account.current_period_start
    if (
        found.metered
        and start is not None
        and minute < start < minute + timedelta(seconds=WINDOW_SECONDS)
    ):
        return start
    return minute


def _record(account: BillingAccount, counted: list[tuple[_Bucket, int]]) -> int:
    """The tenant's buckets as rows, those already made (an earlier run crashed before
    dropping the counters) skipped; a licensed row is never reported."""
    rows = [
        UsageRecord(
            identifier=found.identifier,
            meter_event_name=_meter_event_name(account) if found.metered else DEFAULT_METER_EVENT,
            quantity=value,
            occurred_at=_occurred_at(account, found),
            metered=found.metered,
        )
        for found, value in counted
    ]
    with account.tenant, transaction.atomic():
        made = set(
            UsageRecord.objects.filter(identifier__in=[r.identifier for r in rows]).values_list(
                "identifier", flat=True
            )
        )
        new = [row for row in rows if row.identifier not in made]
        # ignore_conflicts: a concurrent collector made the same row meanwhile.
        UsageRecord.objects.bulk_create(new, ignore_conflicts=True)
        if any(row.metered for row in new):
            BillingAccount.objects.filter(pk=account.pk, usage_unreported=False).update(
                usage_unreported=True
            )
    return len(new)


def usage_report(*, account: BillingAccount) -> int:
    """Send the tenant's unreported metered usage to Stripe; returns how many rows were
    reported. Licensed rows (counted while the price was not metered) are never sent."""
    if not account.stripe_customer_id:
        return 0
    # Cleared before the rows are read: a row collected from here on is either read below or
    # sets the flag again, so no row is left behind unflagged.
    BillingAccount.objects.filter(pk=account.pk, usage_unreported=True).update(
        usage_unreported=False
    )
    reported = 0
    with account.tenant:
        while True:
            with transaction.atomic():
                # skip_locked: a concurrent reporter takes other rows instead of waiting.
                record = (
                    UsageRecord.objects.select_for_update(skip_locked=True)
                    .filter(metered=True, reported_at__isnull=True)
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
    """Report the unreported usage of every account on a metered price, and of every account
    that has some left from one (the beat job)."""
    reported = 0
    accounts = BillingAccount.objects.select_related("tenant", "price").filter(
        Q(price__metered=True) | Q(usage_unreported=True), stripe_customer_id__isnull=False
    )
    for account in accounts:
        reported += usage_report(account=account)
    return reported
