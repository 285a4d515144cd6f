"""Subscriptions: checkout, plan changes, cancel and resume, and the local mirror of what
Stripe says. Stripe is the source of truth; `subscription_apply` is the only writer of the
mirror, and it refuses state older than what it already holds."""

import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from billing import gateway
from billing.errors import InvalidBillingRequest, PaymentDeclined
from billing.models import BillingAccount, Plan, Price, SubscriptionStatus
from saas.audit.services import audit_entry_record
from saas.errors import Conflict, NotFound
from tenants.models import Tenant

from .accounts import billing_account_for_customer, billing_customer_ensure
from .audit import billing_account_changes_record, billing_account_values
from .entitlements import seat_count
from .lifecycle import tenant_status_follow_billing
from .tenant_events import subscription_event, subscription_values

PAID_STATUSES = {
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.PAST_DUE,
}


def account_for_update(*, tenant: Tenant) -> BillingAccount:
    """The account row, locked for a short write. No joins: with `FOR UPDATE OF` over a
    join, PostgreSQL re-checks the join against the joined row as it was, so a concurrent
    change of the account's price made the row vanish (DoesNotExist) instead of waiting."""
    return BillingAccount.objects.select_for_update().get(tenant=tenant)


# Namespace of the advisory locks below (the other int of the pair is the account id).
_ACCOUNT_MUTEX = 0x5AA5


@contextlib.contextmanager
def billing_account_mutex(*, account: BillingAccount) -> Iterator[None]:
    """One billing change per tenant at a time (a double click, two admins), held across
    the Stripe calls. A session advisory lock, not the row lock: webhooks and seat syncs
    write the row meanwhile, and no transaction stays open while Stripe answers. The
    holder's connection closing (a crashed worker) releases it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [_ACCOUNT_MUTEX, account.pk])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_ACCOUNT_MUTEX, account.pk])


def _price_by_lookup(lookup_key: str) -> Price:
    price = (
        Price.objects.select_related("plan")
        .filter(lookup_key=lookup_key, active=True, plan__active=True)
        .first()
    )
    if price is None:
        raise NotFound(f"No active price {lookup_key!r}.", code="price_not_found")
    if not price.stripe_price_id:
        raise InvalidBillingRequest(
            "This price is not in Stripe yet; run billing_sync_catalog.", code="price_not_synced"
        )
    return price


def _quantity_for(price: Price, tenant: Tenant) -> int | None:
    if price.metered:
        return None  # Stripe counts metered usage; there is no quantity
    # Stripe refuses a quantity below 1; an organization always has its owner anyway.
    return max(seat_count(tenant=tenant), 1) if price.per_seat else 1


# ---- the mirror -------------------------------------------------------------------------


def subscription_apply(
    *, account: BillingAccount, subscription: gateway.Subscription, stripe_time: int
) -> bool:
    """Mirror `subscription` if it is not older than what we hold. Returns whether it was
    applied. `stripe_time` is the Stripe event's `created` (or now, for a fresh fetch).
    The plan is the one Stripe bills now; a scheduled change is the price of the schedule's
    next phase, which Stripe itself switches to at the period end. Only a subscription of
    the account's own customer is ever mirrored, whoever asks (an event naming our customer
    next to another customer's subscription takes nobody's plan over)."""
    if not subscription_is_the_customers(account=account, subscription=subscription):
        return False
    if stripe_time < account.stripe_state_at:
        return False
    if account.stripe_subscription_id != subscription.id:
        # An old subscription's events are history; a duplicate's are not ours to show.
        if account.stripe_subscription_id and subscription.status in _ENDED:
            return False
        if not subscription_is_kept(account=account, subscription_id=subscription.id):
            return False
    before = billing_account_values(account)
    held = subscription_values(account)
    account.stripe_subscription_id = subscription.id
    account.stripe_subscription_item_id = subscription.item_id
    account.status = subscription.status
    account.quantity = subscription.quantity
    account.current_period_start = subscription.current_period_start
    account.current_period_end = subscription.current_period_end
    account.trial_end = subscription.trial_end
    account.cancel_at_period_end = subscription.cancel_at_period_end
    account.stripe_state_at = stripe_time
    _apply_plan(account, subscription)
    _track_past_due(account, _now_for(subscription))
    event = subscription_event(account=account, before=held)
    if event is not None and event.ends:
        event.record()  # before the free plan is saved (SubscriptionEvent.record says why)
    account.save()
    if event is not None and not event.ends:
        event.record()
    billing_account_changes_record(account=account, before=before)
    tenant_status_follow_billing(account=account, now=subscription.clock_time)
    return True


_ENDED = ("canceled", "incomplete_expired")


def subscription_is_the_customers(
    *, account: BillingAccount, subscription: gateway.Subscription
) -> bool:
    """Whether Stripe bills `subscription` to the account's own customer."""
    return bool(account.stripe_customer_id) and subscription.customer == account.stripe_customer_id


def subscription_is_kept(*, account: BillingAccount, subscription_id: str) -> bool:
    """Whether `subscription_id` is the tenant's one subscription. Of the customer's live
    subscriptions (two paid checkouts), the one mirrored stays while it lives, else the
    oldest: every worker answers the same, whatever order events arrive in."""
    if account.stripe_subscription_id == subscription_id:
        return True
    live = gateway.subscription_ids_live(account.stripe_customer_id or "")  # newest first
    if account.stripe_subscription_id in live:
        return False
    return not live or live[-1] == subscription_id


def _price_for(stripe_price_id: str | None) -> Price | None:
    if not stripe_price_id:
        return None
    return Price.objects.select_related("plan").filter(stripe_price_id=stripe_price_id).first()


def _apply_plan(account: BillingAccount, subscription: gateway.Subscription) -> None:
    if subscription.status in _ENDED:
        # Whatever the tenant signed up with, a subscription that ended leaves the free plan.
        account.price = None
        account.scheduled_price = None
        account.plan = Plan.objects.get(code=settings.BILLING_FREE_PLAN)
        return
    price = _price_for(subscription.price_id)
    if price is not None:  # a price made outside our catalog leaves the plan as it was
        account.price, account.plan = price, price.plan
    scheduled = _price_for(subscription.scheduled_price_id)
    account.scheduled_price = scheduled if scheduled != account.price else None


def _now_for(subscription: gateway.Subscription) -> datetime:
    """The time a state change happened: a test clock's time if the customer is on one and
    it is ahead (test mode), so the grace is counted in simulated days; never earlier than
    the real time, so the real-time dunning job cannot escalate a clocked tenant early."""
    now = timezone.now()
    return max(subscription.clock_time, now) if subscription.clock_time else now


def _track_past_due(account: BillingAccount, now: datetime) -> None:
    if account.status == SubscriptionStatus.PAST_DUE:
        account.past_due_since = account.past_due_since or now
    else:
        account.past_due_since = None


def subscription_refresh(*, account: BillingAccount) -> BillingAccount:
    """Fetch the subscription from Stripe and mirror it. The clock is read before the fetch,
    so of two overlapping refreshes the one that fetched later wins."""
    if account.stripe_subscription_id:
        fetched_at = int(time.time())
        current = gateway.subscription_retrieve(account.stripe_subscription_id)
        subscription_apply(account=account, subscription=current, stripe_time=fetched_at)
    return account


@transaction.atomic
def billing_customer_ready(*, tenant_id: int) -> BillingAccount:
    """The tenant's account with its Stripe customer (made if missing: signup's task, or a
    first checkout that came before it) and, for a customer made now, the signup plan's trial
    when BILLING_SIGNUP_TRIAL is on. Holds the account's row lock throughout."""
    account, created = billing_customer_ensure(tenant_id=tenant_id)
    if created and settings.BILLING_SIGNUP_TRIAL and account.status == SubscriptionStatus.NONE:
        subscription_start_trial(account=account)
    return account


def subscription_start_trial(*, account: BillingAccount) -> None:
    plan = account.plan
    price = plan.prices.filter(active=True, metered=False).exclude(stripe_price_id="").first()
    if price is None or not plan.trial_days or not account.stripe_customer_id:
        return
    subscription = gateway.subscription_create_trial(
        customer_id=account.stripe_customer_id,
        price_id=price.stripe_price_id,
        quantity=_quantity_for(price, account.tenant) or 1,
        trial_days=plan.trial_days,
        metadata={"tenant_id": str(account.tenant_id)},
        idempotency_key=f"trial-{account.customer_idempotency_key}",
    )
    subscription_apply(account=account, subscription=subscription, stripe_time=int(time.time()))


# ---- what tenants ask for ---------------------------------------------------------------


def _return_url(host: str, outcome: str) -> str:
    return settings.BILLING_RETURN_URL.format(host=host) + f"?checkout={outcome}"


def checkout_start(*, tenant: Tenant, price_lookup_key: str, host: str) -> gateway.Session:
    """A Checkout Session for the first subscription. One subscription per tenant, always:
    starting a session expires the tenant's other open ones (the last click wins), and a
    tenant whose earlier session was already paid is told so instead."""
    price = _price_by_lookup(price_lookup_key)
    account = billing_customer_ready(tenant_id=tenant.pk)
    customer_id = account.stripe_customer_id or ""
    with billing_account_mutex(account=account):
        account.refresh_from_db()
        if account.status in PAID_STATUSES or gateway.subscription_ids_live(customer_id):
            raise _already_subscribed()
        for session_id in gateway.checkout_session_ids_open(customer_id):
            if gateway.checkout_session_expire(session_id) == "complete":
                raise _already_subscribed()  # paid a moment ago; its webhook is on its way
        return gateway.checkout_session_create(
            customer_id=customer_id,
            price_id=price.stripe_price_id,
            quantity=_quantity_for(price, tenant),
            success_url=_return_url(host, "success"),
            cancel_url=_return_url(host, "canceled"),
            trial_days=price.plan.trial_days if account.status == SubscriptionStatus.NONE else 0,
            metadata={"tenant_id": str(tenant.pk)},
            idempotency_key=f"checkout-{uuid.uuid4()}",
        )


def _already_subscribed() -> Conflict:
    return Conflict(
        "This organization already has a subscription; change its plan instead.",
        code="already_subscribed",
    )


@transaction.atomic
def checkout_complete(*, session_id: str, customer_id: str) -> BillingAccount | None:
    """What the checkout.session.completed webhook calls: mirror the new subscription, or,
    if the tenant already has another live one (two sessions paid), end this one at once
    and refund it (`subscription_is_kept` says which one stays)."""

    found = billing_account_for_customer(customer_id)
    if found is None:  # not one of ours: nothing to ask Stripe
        return None
    subscription_id = gateway.checkout_session_subscription(session_id)
    if subscription_id is None:
        return None
    account = account_for_update(tenant=found.tenant)
    if not subscription_is_kept(account=account, subscription_id=subscription_id):
        _duplicate_cancel(account, subscription_id)
        return account
    fetched_at = int(time.time())
    current = gateway.subscription_retrieve(subscription_id)
    subscription_apply(account=account, subscription=current, stripe_time=fetched_at)
    for other in gateway.checkout_session_ids_open(customer_id):  # nothing else to pay now
        gateway.checkout_session_expire(other)
    return account


def _duplicate_cancel(account: BillingAccount, duplicate_id: str) -> None:
    refunded = gateway.subscription_cancel_and_refund(
        duplicate_id, idempotency_key=f"duplicate-{duplicate_id}"
    )
    audit_entry_record(
        action="billing.duplicate_subscription_canceled",
        target_type="subscription",
        target_id=duplicate_id,
        changes={"kept": account.stripe_subscription_id, "refunded": refunded},
        tenant=account.tenant,
    )


@dataclass(frozen=True)
class PlanChange:
    effective: str  # "now" or "period_end"
    amount_due_now: int
    currency: str
    account: BillingAccount
    proration_date: int | None = None  # pass it to the change to be charged what was shown
    effective_at: datetime | None = None


# A preview's proration date stays usable this long (Stripe prorates to the second).
PRORATION_DATE_MAX_AGE = 3600


def _proration_date(requested: int | None, now: int, account: BillingAccount) -> int | None:
    """The preview's date, checked; None lets Stripe prorate at its own now, which stays
    right if a renewal happens between our read and the update. `now` is Stripe's time for
    this customer (its test clock's, in test mode)."""
    if requested is None:
        return None
    if not now - PRORATION_DATE_MAX_AGE <= requested <= now:
        raise _stale_proration("Too old or in the future.")
    start = account.current_period_start
    if start is not None and requested < start.timestamp():
        raise _stale_proration("The billing period renewed since the preview; preview again.")
    return requested


def _stale_proration(why: str) -> InvalidBillingRequest:
    return InvalidBillingRequest(
        "proration_date must come from a preview of the current period, made within the last hour.",
        code="invalid_proration_date",
        extra={"fields": {"proration_date": [why]}},
    )


# How a change from the current price to `new` happens (README, "Plan changes"):
NOW = "now"  # prorated and invoiced at once (Stripe's invoice preview shows the amount)
PERIOD_END = "period_end"  # a subscription schedule switches the price at the period end
KEEP = "keep"  # back to the current price: the scheduled change is dropped


def _change_kind(account: BillingAccount, new: Price, quantity: int | None) -> str:
    _change_allowed(account)
    current = account.price
    if new.pk == account.scheduled_price_id:
        raise Conflict("That change is already scheduled.", code="change_already_scheduled")
    if current is None or new.pk == current.pk:
        if current is not None and account.scheduled_price_id:
            return KEEP
        raise Conflict("This organization is already on that price.", code="same_price")
    if account.status == SubscriptionStatus.TRIALING:
        return NOW  # nothing is billed before the trial ends: nothing to prorate
    if new.interval != current.interval:
        return NOW  # Stripe restarts the billing cycle and invoices the new one at once
    if new.metered or current.metered:
        # To metered: credit for the unused time now, usage billed at the period end. From
        # metered: this period's usage is billed at its end, the new price from then on.
        return NOW if new.metered else PERIOD_END
    upgrade = new.amount * (quantity or 1) >= current.amount * account.quantity
    return NOW if upgrade else PERIOD_END


def _change_allowed(account: BillingAccount) -> None:
    if account.status == SubscriptionStatus.PAST_DUE:
        raise Conflict(
            "The subscription has an unpaid invoice; pay it before changing the plan.",
            code="subscription_past_due",
        )
    if account.status not in PAID_STATUSES or not account.stripe_subscription_id:
        raise Conflict(
            "There is no subscription to change; start one with checkout.", code="no_subscription"
        )


def subscription_preview_change(*, tenant: Tenant, price_lookup_key: str) -> PlanChange:
    new = _price_by_lookup(price_lookup_key)
    account, stripe_now = _account_as_stripe_has_it(tenant)
    quantity = _quantity_for(new, tenant)
    kind = _change_kind(account, new, quantity)
    if kind != NOW or account.status == SubscriptionStatus.TRIALING:  # nothing billed now
        at = account.current_period_end if kind == PERIOD_END else None
        return PlanChange(kind if kind == PERIOD_END else NOW, 0, new.currency, account, None, at)
    proration_date = stripe_now
    preview = gateway.invoice_preview_change(
        customer_id=account.stripe_customer_id or "",
        subscription_id=account.stripe_subscription_id or "",
        item_id=account.stripe_subscription_item_id,
        price_id=new.stripe_price_id,
        quantity=quantity,
        proration_date=proration_date,
        replace_item=_replaces_item(account, new),
    )
    return PlanChange(NOW, preview.amount_due, preview.currency, account, proration_date)


def _account_as_stripe_has_it(tenant: Tenant) -> tuple[BillingAccount, int]:
    """The account with its subscription fetched from Stripe first, and Stripe's time for
    it (a test clock's, in test mode): a change is decided on what Stripe bills now (a trial
    ended, a renewal), not on a mirror an event behind, and prorated at Stripe's now."""
    account = BillingAccount.objects.get(tenant=tenant)
    fetched_at = int(time.time())
    stripe_now = fetched_at
    if account.stripe_subscription_id:
        current = gateway.subscription_retrieve(account.stripe_subscription_id)
        stripe_now = int(current.clock_time.timestamp()) if current.clock_time else fetched_at
        with transaction.atomic():
            locked = account_for_update(tenant=tenant)
            subscription_apply(account=locked, subscription=current, stripe_time=fetched_at)
    return BillingAccount.objects.select_related("price", "tenant").get(tenant=tenant), stripe_now


def _replaces_item(account: BillingAccount, new: Price) -> bool:
    return bool(account.price and account.price.metered != new.metered)


def subscription_change(
    *, tenant: Tenant, price_lookup_key: str, proration_date: int | None = None
) -> PlanChange:
    """Change the plan the way Stripe models it (see `_change_kind`). The decision and the
    Stripe calls run under the tenant's billing mutex, so a second identical click sees the
    first one's result (409); no row lock is held while Stripe answers."""
    new = _price_by_lookup(price_lookup_key)
    account = BillingAccount.objects.get(tenant=tenant)
    with billing_account_mutex(account=account):
        account, stripe_now = _account_as_stripe_has_it(tenant)
        quantity = _quantity_for(new, tenant)
        kind = _change_kind(account, new, quantity)
        if kind == PERIOD_END:
            updated = _schedule_change(account, new, quantity)
        elif kind == KEEP:
            updated = _scheduled_change_drop(account)
        else:
            updated = _change_now(
                account, new, quantity, _proration_date(proration_date, stripe_now, account)
            )
        with transaction.atomic():
            locked = account_for_update(tenant=tenant)
            subscription_apply(account=locked, subscription=updated, stripe_time=int(time.time()))
    charged = gateway.invoice_amount_paid(updated.latest_invoice) if kind == NOW else 0
    at = locked.current_period_end if kind == PERIOD_END else None
    return PlanChange(
        PERIOD_END if kind == PERIOD_END else NOW, charged, new.currency, locked, None, at
    )


def _change_now(
    account: BillingAccount, new: Price, quantity: int | None, proration_date: int | None
) -> gateway.Subscription:
    """Prorated and invoiced at once; a declined card changes nothing (Stripe refuses the
    update with error_if_incomplete). A scheduled change is dropped first (Stripe's schedule
    would otherwise still switch at the period end) and put back if the card is declined."""
    _scheduled_change_drop(account)
    trial = account.status == SubscriptionStatus.TRIALING
    try:
        return gateway.subscription_update(
            account.stripe_subscription_id or "",
            item_id=account.stripe_subscription_item_id,
            price_id=new.stripe_price_id,
            quantity=quantity,
            replace_item=_replaces_item(account, new),
            proration_behavior="none" if trial else "always_invoice",
            proration_date=None if trial else proration_date,
            payment_behavior=None if trial else "error_if_incomplete",
            idempotency_key=f"change-{uuid.uuid4()}",
        )
    except PaymentDeclined:
        if account.scheduled_price is not None:
            scheduled = account.scheduled_price
            _schedule_change(account, scheduled, _quantity_for(scheduled, account.tenant))
        raise


def _schedule_change(
    account: BillingAccount, new: Price, quantity: int | None
) -> gateway.Subscription:
    """A subscription schedule: the current price until the period end, then `new`."""
    subscription_id = account.stripe_subscription_id or ""
    current = account.price
    if current is None or account.current_period_end is None:  # _change_kind rules it out
        raise Conflict("The subscription has no current period.", code="no_subscription")
    schedule = gateway.schedule_for_subscription(
        subscription_id, idempotency_key=f"schedule-{uuid.uuid4()}"
    )
    gateway.schedule_change_at(
        schedule,
        current=(current.stripe_price_id, None if current.metered else account.quantity),
        switch_at=int(account.current_period_end.timestamp()),
        new=(new.stripe_price_id, quantity),
        idempotency_key=f"schedule-phases-{uuid.uuid4()}",
    )
    return gateway.subscription_retrieve(subscription_id)


def _scheduled_change_drop(account: BillingAccount) -> gateway.Subscription:
    subscription = gateway.subscription_retrieve(account.stripe_subscription_id or "")
    if subscription.schedule_id:
        gateway.schedule_release(
            subscription.schedule_id, idempotency_key=f"release-{subscription.schedule_id}"
        )
        subscription = gateway.subscription_retrieve(subscription.id)
    return subscription


def subscription_set_cancel_at_period_end(*, tenant: Tenant, cancel: bool) -> BillingAccount:
    """Cancel at the period end, or take that back. Stripe refuses a cancellation on a
    subscription its schedule manages, and an ending subscription has nothing to switch
    to: canceling drops a scheduled change."""
    account = BillingAccount.objects.get(tenant=tenant)
    with billing_account_mutex(account=account):
        account.refresh_from_db()
        if account.status not in PAID_STATUSES or not account.stripe_subscription_id:
            raise Conflict("There is no active subscription.", code="no_subscription")
        if not cancel and not account.cancel_at_period_end:
            raise Conflict("The subscription is not set to cancel.", code="not_canceling")
        if cancel:
            _scheduled_change_drop(account)
        updated = gateway.subscription_update(
            account.stripe_subscription_id,
            cancel_at_period_end=cancel,
            idempotency_key=f"cancel-{cancel}-{uuid.uuid4()}",
        )
        with transaction.atomic():
            locked = account_for_update(tenant=tenant)
            subscription_apply(account=locked, subscription=updated, stripe_time=int(time.time()))
    return locked


def portal_start(*, tenant: Tenant, host: str) -> gateway.Session:
    account = billing_customer_ready(tenant_id=tenant.pk)
    return gateway.portal_session_create(
        customer_id=account.stripe_customer_id or "",
        return_url=settings.BILLING_RETURN_URL.format(host=host),
    )


# ---- an organization archived -----------------------------------------------------------


def subscription_cancel_now(*, tenant: Tenant) -> None:
    """Cancel the tenant's live Stripe subscription at once (no proration, no refund), for an
    organization being archived. Call it outside any transaction (no row lock is held while
    Stripe answers), then `subscription_mark_canceled` in the archiving transaction. Safe to
    repeat; a Stripe error raises and changes nothing here."""
    account = BillingAccount.objects.filter(tenant=tenant).first()
    if account and account.stripe_subscription_id and account.status not in _ENDED:
        gateway.subscription_cancel_now(account.stripe_subscription_id)


def subscription_mark_canceled(*, tenant: Tenant) -> None:
    """The mirror says canceled (Stripe's own event will say so too, and is then a no-op),
    with its audit entry. Nothing for an account that never subscribed."""
    account = account_for_update(tenant=tenant)
    if not account.stripe_subscription_id or account.status == SubscriptionStatus.CANCELED:
        return
    before = billing_account_values(account)
    held = subscription_values(account)
    account.status = SubscriptionStatus.CANCELED
    account.save(update_fields=["status", "updated_at"])
    billing_account_changes_record(account=account, before=before)
    event = subscription_event(account=account, before=held)
    if event is not None:  # the plan stays as it was until Stripe's own event: no hurry
        event.record()
