"""Subscriptions: checkout, plan changes, cancel and resume, and the local mirror of what
Stripe says. Stripe is the source of truth; `subscription_apply` is the only writer of the
mirror, and it refuses state older than what it already holds."""

import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing import gateway
from billing.errors import InvalidBillingRequest
from billing.models import BillingAccount, Plan, Price, SubscriptionStatus
from saas.errors import Conflict, NotFound
from tenants.models import Tenant

from .lifecycle import tenant_status_follow_billing
from .seats import seat_count

PAID_STATUSES = {
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.PAST_DUE,
}


def account_for_update(*, tenant: Tenant) -> BillingAccount:
    return (
        BillingAccount.objects.select_for_update(of=("self",))
        .select_related("tenant", "plan", "price", "scheduled_price")
        .get(tenant=tenant)
    )


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
    return seat_count(tenant=tenant) if price.per_seat else 1


# ---- the mirror -------------------------------------------------------------------------


def subscription_apply(
    *, account: BillingAccount, subscription: gateway.Subscription, stripe_time: int
) -> bool:
    """Mirror `subscription` if it is not older than what we hold. Returns whether it was
    applied. `stripe_time` is the Stripe event's `created` (or now, for a fresh fetch)."""
    if stripe_time < account.stripe_state_at:
        return False
    if account.stripe_subscription_id and account.stripe_subscription_id != subscription.id:
        # A newer subscription replaced the one we know; an old one's events are history.
        if subscription.status in ("canceled", "incomplete_expired"):
            return False
    price = (
        Price.objects.select_related("plan").filter(stripe_price_id=subscription.price_id).first()
    )
    ended = subscription.status in ("canceled", "incomplete_expired")
    account.stripe_subscription_id = subscription.id
    account.stripe_subscription_item_id = subscription.item_id
    account.status = subscription.status
    account.quantity = subscription.quantity
    account.current_period_start = subscription.current_period_start
    account.current_period_end = subscription.current_period_end
    account.trial_end = subscription.trial_end
    account.cancel_at_period_end = subscription.cancel_at_period_end
    account.stripe_state_at = stripe_time
    _apply_plan(account, price, ended=ended)
    _track_past_due(account)
    account.save()
    tenant_status_follow_billing(account=account)
    return True


def _apply_plan(account: BillingAccount, price: Price | None, *, ended: bool) -> None:
    if ended:
        account.price = None
        account.scheduled_price = None
        account.plan = Plan.objects.get(code=settings.BILLING_SIGNUP_PLAN)
        return
    scheduled = account.scheduled_price
    period_end = account.current_period_end
    if scheduled and price and price.pk == scheduled.pk and period_end and _not_yet(period_end):
        return  # a downgrade billed from the next period; the paid-for plan stays until then
    if price is not None:
        account.price, account.plan = price, price.plan
        if scheduled and scheduled.pk == price.pk:
            account.scheduled_price = None


def _not_yet(moment: datetime) -> bool:
    return timezone.now() < moment


def _track_past_due(account: BillingAccount) -> None:
    if account.status == SubscriptionStatus.PAST_DUE:
        account.past_due_since = account.past_due_since or timezone.now()
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


def subscription_start_trial(*, account: BillingAccount) -> None:
    plan = account.plan
    price = plan.prices.filter(active=True, metered=False).exclude(stripe_price_id="").first()
    if price is None or not plan.trial_days or not account.stripe_customer_id:
        return
    subscription = gateway.subscription_create_trial(
        customer_id=account.stripe_customer_id,
        price_id=price.stripe_price_id,
        quantity=seat_count(tenant=account.tenant) if price.per_seat else 1,
        trial_days=plan.trial_days,
        metadata={"tenant_id": str(account.tenant_id)},
        idempotency_key=f"trial-{account.customer_idempotency_key}",
    )
    subscription_apply(account=account, subscription=subscription, stripe_time=int(time.time()))


# ---- what tenants ask for ---------------------------------------------------------------


def _return_url(host: str, outcome: str) -> str:
    return settings.BILLING_RETURN_URL.format(host=host) + f"?checkout={outcome}"


def checkout_start(*, tenant: Tenant, price_lookup_key: str, host: str) -> gateway.Session:
    from .accounts import billing_customer_ensure

    price = _price_by_lookup(price_lookup_key)
    account = billing_customer_ensure(tenant_id=tenant.pk)
    if account.status in PAID_STATUSES:
        raise Conflict(
            "This organization already has a subscription; change its plan instead.",
            code="already_subscribed",
        )
    return gateway.checkout_session_create(
        customer_id=account.stripe_customer_id or "",
        price_id=price.stripe_price_id,
        quantity=_quantity_for(price, tenant),
        success_url=_return_url(host, "success"),
        cancel_url=_return_url(host, "canceled"),
        trial_days=price.plan.trial_days if account.status == SubscriptionStatus.NONE else 0,
        metadata={"tenant_id": str(tenant.pk)},
        idempotency_key=f"checkout-{uuid.uuid4()}",
    )


@transaction.atomic
def checkout_complete(*, session_id: str, customer_id: str) -> BillingAccount | None:
    """What the checkout.session.completed webhook calls: mirror the new subscription."""
    from .accounts import billing_account_for_customer

    found = billing_account_for_customer(customer_id)
    if found is None:  # not one of ours: nothing to ask Stripe
        return None
    account = account_for_update(tenant=found.tenant)
    fetched_at = int(time.time())
    subscription_id = gateway.checkout_session_subscription(session_id)
    if subscription_id is None:
        return None
    current = gateway.subscription_retrieve(subscription_id)
    subscription_apply(account=account, subscription=current, stripe_time=fetched_at)
    return account


@dataclass(frozen=True)
class PlanChange:
    effective: str  # "now" or "period_end"
    amount_due_now: int
    currency: str
    account: BillingAccount
    proration_date: int | None = None  # pass it to the change to be charged what was shown


# A preview's proration date stays usable this long (Stripe prorates to the second).
PRORATION_DATE_MAX_AGE = 3600


def _proration_date(requested: int | None) -> int:
    now = int(time.time())
    if requested is None:
        return now
    if not now - PRORATION_DATE_MAX_AGE <= requested <= now:
        raise InvalidBillingRequest(
            "proration_date must come from a preview made within the last hour.",
            code="invalid_proration_date",
            extra={"fields": {"proration_date": ["Too old or in the future."]}},
        )
    return requested


def _monthly_value(price: Price, quantity: int) -> float:
    per_month = price.amount / 12 if price.interval == "year" else price.amount
    return per_month * max(quantity, 1)


def _change_plan(account: BillingAccount, new: Price) -> tuple[str, int]:
    if account.status not in PAID_STATUSES or not account.stripe_subscription_id:
        raise Conflict(
            "There is no subscription to change; start one with checkout.", code="no_subscription"
        )
    if account.price_id == new.pk and not account.scheduled_price_id:
        raise Conflict("This organization is already on that price.", code="same_price")
    if new.metered or (account.price and account.price.metered):
        raise InvalidBillingRequest("Metered plans change through checkout.", code="metered_change")
    quantity = _quantity_for(new, account.tenant) or 1
    current_value = _monthly_value(account.price, account.quantity) if account.price else 0
    upgrade = _monthly_value(new, quantity) >= current_value
    return ("now" if upgrade else "period_end"), quantity


def subscription_preview_change(*, tenant: Tenant, price_lookup_key: str) -> PlanChange:
    new = _price_by_lookup(price_lookup_key)
    account = BillingAccount.objects.select_related("price", "tenant").get(tenant=tenant)
    effective, quantity = _change_plan(account, new)
    if effective == "period_end":
        return PlanChange("period_end", 0, new.currency, account)
    proration_date = int(time.time())
    preview = gateway.invoice_preview_change(
        customer_id=account.stripe_customer_id or "",
        subscription_id=account.stripe_subscription_id or "",
        item_id=account.stripe_subscription_item_id,
        price_id=new.stripe_price_id,
        quantity=quantity,
        proration_date=proration_date,
    )
    return PlanChange("now", preview.amount_due, preview.currency, account, proration_date)


@transaction.atomic
def subscription_change(
    *, tenant: Tenant, price_lookup_key: str, proration_date: int | None = None
) -> PlanChange:
    """Upgrades now, prorated and invoiced at once (a declined card changes nothing);
    downgrades from the next period, keeping the paid-for plan until then."""
    new = _price_by_lookup(price_lookup_key)
    account = account_for_update(tenant=tenant)
    effective, quantity = _change_plan(account, new)
    updated = gateway.subscription_update(
        account.stripe_subscription_id or "",
        item_id=account.stripe_subscription_item_id,
        price_id=new.stripe_price_id,
        quantity=quantity,
        proration_behavior="always_invoice" if effective == "now" else "none",
        proration_date=_proration_date(proration_date) if effective == "now" else None,
        payment_behavior="error_if_incomplete" if effective == "now" else None,
        idempotency_key=f"change-{uuid.uuid4()}",
    )
    account.scheduled_price = new if effective == "period_end" else None
    subscription_apply(account=account, subscription=updated, stripe_time=int(time.time()))
    charged = gateway.invoice_amount_paid(updated.latest_invoice) if effective == "now" else 0
    return PlanChange(effective, charged, new.currency, account)


@transaction.atomic
def subscription_set_cancel_at_period_end(*, tenant: Tenant, cancel: bool) -> BillingAccount:
    account = account_for_update(tenant=tenant)
    if account.status not in PAID_STATUSES or not account.stripe_subscription_id:
        raise Conflict("There is no active subscription.", code="no_subscription")
    if not cancel and not account.cancel_at_period_end:
        raise Conflict("The subscription is not set to cancel.", code="not_canceling")
    updated = gateway.subscription_update(
        account.stripe_subscription_id,
        cancel_at_period_end=cancel,
        idempotency_key=f"cancel-{cancel}-{uuid.uuid4()}",
    )
    subscription_apply(account=account, subscription=updated, stripe_time=int(time.time()))
    return account


def portal_start(*, tenant: Tenant, host: str) -> gateway.Session:
    from .accounts import billing_customer_ensure

    account = billing_customer_ensure(tenant_id=tenant.pk)
    return gateway.portal_session_create(
        customer_id=account.stripe_customer_id or "",
        return_url=settings.BILLING_RETURN_URL.format(host=host),
    )
