"""Seats: how many the tenant uses (its memberships), and keeping a per-seat subscription's
Stripe quantity equal to it.

A membership change marks the account's SeatSync row dirty and, only when it was clean,
writes one delayed run to the outbox in the same transaction: a burst of changes becomes one
Stripe update. The run locks the row, counts, updates Stripe if the quantity differs and
clears the flag in one transaction, so a second delivery of the task finds nothing to do; a
run that failed for good leaves the row dirty for the beat sweep (seat_sync_sweep).
"""

import time
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from billing import gateway
from billing.models import BillingAccount, SeatSync, SubscriptionStatus
from saas.outbox.services import outbox_enqueue

from .entitlements import seat_count
from .subscriptions import subscription_apply

# Long enough for a burst (an import of members, a bulk removal) to settle first.
SEAT_SYNC_DELAY_SECONDS = 5
# Dirty for longer than this: its task was lost (or failed for good); the sweep runs it again.
SEAT_SYNC_STALE_AFTER = timedelta(minutes=1)
_SYNCED_STATUSES = (
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.PAST_DUE,
)


def seat_sync_applies(account: BillingAccount) -> bool:
    """Per-seat, licensed, with a live subscription (not free, not metered, not ended)."""
    price = account.price
    return bool(
        price is not None
        and price.per_seat
        and not price.metered
        and account.stripe_subscription_id
        and account.stripe_subscription_item_id
        and account.status in _SYNCED_STATUSES
    )


def _enqueue(account_id: int, countdown: float) -> None:
    outbox_enqueue(
        "billing.tasks.billing_seat_sync", {"account_id": account_id}, countdown=countdown
    )


@transaction.atomic
def seat_sync_mark_dirty(*, tenant_id: int) -> bool:
    """After a membership was added or removed. Returns whether a run was enqueued."""
    account = BillingAccount.objects.select_related("price").filter(tenant_id=tenant_id).first()
    if account is None or not seat_sync_applies(account):
        return False
    SeatSync.objects.get_or_create(account=account)
    sync = SeatSync.objects.select_for_update().get(account=account)
    if sync.dirty_since is not None:
        return False  # a run is already on its way; it will count this change too
    sync.dirty_since = timezone.now()
    sync.save(update_fields=["dirty_since", "updated_at"])
    _enqueue(account.pk, SEAT_SYNC_DELAY_SECONDS)
    return True


@transaction.atomic
def seat_sync_apply(*, account_id: int) -> bool:
    """Make the Stripe quantity equal the member count. Returns whether Stripe was updated.

    The idempotency key comes from the stored row (its key and the target quantity), so a
    retry after Stripe applied the update but before we committed reuses the key and gets
    Stripe's first answer; after a success the key is replaced for the next change.
    """
    sync = SeatSync.objects.select_for_update().filter(account_id=account_id).first()
    if sync is None or sync.dirty_since is None:
        return False
    # No joins in a locking query: see subscriptions.account_for_update.
    account = BillingAccount.objects.select_for_update().get(pk=account_id)
    updated = False
    if seat_sync_applies(account):
        quantity = max(seat_count(tenant=account.tenant), 1)
        if quantity != account.quantity:
            subscription = gateway.subscription_update(
                account.stripe_subscription_id or "",
                item_id=account.stripe_subscription_item_id,
                quantity=quantity,
                proration_behavior="create_prorations",
                idempotency_key=f"seats-{sync.idempotency_key}-{quantity}",
            )
            subscription_apply(
                account=account, subscription=subscription, stripe_time=int(time.time())
            )
            sync.idempotency_key = uuid.uuid4()
            updated = True
        sync.synced_quantity = quantity
    sync.dirty_since = None
    sync.save()
    return updated


def seat_sync_stale() -> list[int]:
    """Accounts whose seat sync has been dirty too long (for the beat sweep)."""
    cutoff = timezone.now() - SEAT_SYNC_STALE_AFTER
    return list(
        SeatSync.objects.filter(dirty_since__lte=cutoff).values_list("account_id", flat=True)
    )


def seat_sync_sweep() -> int:
    """Enqueue a run for every stale dirty row; returns how many."""
    stale = seat_sync_stale()
    for account_id in stale:
        _enqueue(account_id, 0)
    return len(stale)
