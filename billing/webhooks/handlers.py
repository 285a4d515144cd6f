"""What each Stripe event type does. Every handler runs inside the processing transaction,
with the event's row locked, so its writes and the emails it queues happen once or not at
all.

Out-of-order delivery: handlers never trust the state inside the event. They fetch the
subscription or invoice as Stripe has it now (the clock read before the fetch is the state's
time) and mirror that, under the account's row lock; the mirror refuses anything older than
what it holds. A late `updated` after `deleted` therefore mirrors the deleted subscription.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from billing import gateway
from billing.errors import InvalidBillingRequest
from billing.models import BillingAccount
from billing.services.accounts import billing_account_for_customer
from billing.services.invoices import invoice_apply, invoice_is_the_customers, invoices_refresh
from billing.services.subscriptions import (
    account_for_update,
    checkout_complete,
    subscription_apply,
    subscription_is_kept,
    subscription_is_the_customers,
)

from ..models import EventState, WebhookEvent
from . import notifications

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    state: str
    note: str
    account: BillingAccount | None = None


def _object(event: WebhookEvent) -> dict[str, Any]:
    return dict(event.payload["data"]["object"])


def _id(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value.get("id")) if isinstance(value, dict) else None


def _unknown(customer_id: str | None) -> Outcome:
    return Outcome(EventState.IGNORED, f"unknown customer {customer_id or '(none)'}")


def _not_the_customers(kind: str, object_id: str, customer_id: str) -> Outcome:
    """The event names our customer, but Stripe bills the object to another one: nothing of
    it is mirrored, for either organization."""
    return Outcome(EventState.IGNORED, f"{kind} {object_id} belongs to customer {customer_id}")


def subscription_sync(
    account: BillingAccount, subscription_id: str
) -> tuple[BillingAccount, gateway.Subscription, bool]:
    """Lock the account, fetch the subscription and mirror it if it is not older (and is
    the account's customer's: subscription_apply)."""
    locked = account_for_update(tenant=account.tenant)
    fetched_at = int(time.time())
    current = gateway.subscription_retrieve(subscription_id)
    applied = subscription_apply(account=locked, subscription=current, stripe_time=fetched_at)
    return locked, current, applied


# ---- checkout and subscriptions -------------------------------------------------------------


def checkout_session_completed(event: WebhookEvent) -> Outcome:
    session = _object(event)
    customer_id = _id(session.get("customer"))
    if session.get("mode") != "subscription":
        return Outcome(EventState.IGNORED, f"checkout mode {session.get('mode')}")
    if billing_account_for_customer(customer_id or "") is None:
        return _unknown(customer_id)  # before asking Stripe about a session not ours
    account = checkout_complete(session_id=session["id"], customer_id=customer_id or "")
    if account is None:
        return Outcome(EventState.IGNORED, f"session {session['id']} has no subscription")
    return Outcome(EventState.DONE, f"subscription {account.status}", account)


def subscription_changed(event: WebhookEvent) -> Outcome:
    obj = _object(event)
    found = billing_account_for_customer(_id(obj.get("customer")) or "")
    if found is None:
        return _unknown(_id(obj.get("customer")))
    account, current, applied = subscription_sync(found, obj["id"])
    if not subscription_is_the_customers(account=account, subscription=current):
        return _not_the_customers("subscription", current.id, current.customer)
    if not applied:
        return Outcome(EventState.DONE, f"{current.id} is not the current subscription", account)
    if event.type == "customer.subscription.deleted" and current.status == "canceled":
        notifications.subscription_canceled(event=event, account=account)
    if event.type == "customer.subscription.trial_will_end" and current.status == "trialing":
        notifications.trial_ending(event=event, account=account, subscription=current)
    return Outcome(EventState.DONE, f"subscription {current.status}", account)


def schedule_changed(event: WebhookEvent) -> Outcome:
    """A subscription schedule was made, changed or let go (by us, in the Dashboard or by a
    phase ending): re-read its subscription, whose mirror shows the scheduled price."""
    obj = _object(event)
    found = billing_account_for_customer(_id(obj.get("customer")) or "")
    if found is None:
        return _unknown(_id(obj.get("customer")))
    subscription_id = _id(obj.get("subscription")) or _id(obj.get("released_subscription"))
    if subscription_id is None:
        return Outcome(EventState.IGNORED, f"schedule {obj.get('id')} has no subscription")
    account, current, _ = subscription_sync(found, subscription_id)
    if not subscription_is_the_customers(account=account, subscription=current):
        return _not_the_customers("subscription", current.id, current.customer)
    scheduled = current.scheduled_price_id or "nothing"
    return Outcome(EventState.DONE, f"schedule {obj.get('status')}: {scheduled} next", account)


# ---- invoices ---------------------------------------------------------------------------------


def invoice_changed(event: WebhookEvent) -> Outcome:
    obj = _object(event)
    account = billing_account_for_customer(_id(obj.get("customer")) or "")
    if account is None:
        return _unknown(_id(obj.get("customer")))
    fetched_at = int(time.time())
    invoice = gateway.invoice_retrieve(obj["id"])
    if not invoice_is_the_customers(account=account, invoice=invoice):
        return _not_the_customers("invoice", invoice.id, invoice.customer)
    subscription_id = invoice.subscription
    if subscription_id and not subscription_is_kept(
        account=account, subscription_id=subscription_id
    ):
        # A duplicate subscription's invoice (two checkouts paid): mirrored, since Stripe
        # billed it, but no receipt; the duplicate is canceled and refunded.
        invoice_apply(account=account, invoice=invoice, stripe_time=fetched_at)
        return Outcome(EventState.DONE, f"invoice {invoice.id} of a duplicate", account)
    mirrored = subscription_id == account.stripe_subscription_id
    if subscription_id and (event.type in _INVOICE_MOVES_SUBSCRIPTION or not mirrored):
        # The subscription first: an invoice of one not mirrored yet (its own events are
        # behind) finds the organization on the plan it pays for, so its webhook endpoints
        # hear of the subscription, then of its invoice (tenant_events).
        account, _, _ = subscription_sync(account, subscription_id)
    invoice_apply(account=account, invoice=invoice, stripe_time=fetched_at)
    _invoice_email(event, account, invoice)
    return Outcome(EventState.DONE, f"invoice {invoice.id} {invoice.status}", account)


# Paying or failing to pay moves the subscription (past_due <-> active): mirror it now
# rather than wait for its own event.
_INVOICE_MOVES_SUBSCRIPTION = {
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.payment_action_required",
}


def _invoice_email(event: WebhookEvent, account: BillingAccount, invoice: gateway.Invoice) -> None:
    # Decided on the invoice as it is now: a failure already paid by a retry sends nothing.
    if event.type == "invoice.paid" and invoice.status == "paid" and invoice.amount_paid > 0:
        notifications.receipt(event=event, account=account, invoice=invoice)
    elif event.type == "invoice.payment_failed" and invoice.status == "open":
        notifications.payment_failed(event=event, account=account, invoice=invoice)
    elif event.type == "invoice.payment_action_required" and invoice.status == "open":
        notifications.payment_action_required(event=event, account=account, invoice=invoice)


def invoice_upcoming(event: WebhookEvent) -> Outcome:
    """A preview (no id, nothing to mirror yet): noted against the account."""
    obj = _object(event)
    account = billing_account_for_customer(_id(obj.get("customer")) or "")
    if account is None:
        return _unknown(_id(obj.get("customer")))
    due = obj.get("amount_due")
    return Outcome(EventState.DONE, f"upcoming invoice of {due} {obj.get('currency')}", account)


# ---- customers, payment methods, charges ----------------------------------------------------


def _refresh(account: BillingAccount, what: str) -> Outcome:
    """The change may move the subscription (a card added during a trial or while past due):
    mirror it as Stripe has it now."""
    if account.stripe_subscription_id:
        account, current, _ = subscription_sync(account, account.stripe_subscription_id)
        return Outcome(EventState.DONE, f"{what}; subscription {current.status}", account)
    return Outcome(EventState.DONE, what, account)


def customer_updated(event: WebhookEvent) -> Outcome:
    obj = _object(event)
    account = billing_account_for_customer(obj["id"])
    if account is None:
        return _unknown(obj["id"])
    return _refresh(account, "customer updated")


def payment_method_attached(event: WebhookEvent) -> Outcome:
    obj = _object(event)
    account = billing_account_for_customer(_id(obj.get("customer")) or "")
    if account is None:
        return _unknown(_id(obj.get("customer")))
    return _refresh(account, f"payment method {obj.get('id')} attached")


def charge_refunded(event: WebhookEvent) -> Outcome:
    obj = _object(event)
    account = billing_account_for_customer(_id(obj.get("customer")) or "")
    if account is None:
        return _unknown(_id(obj.get("customer")))
    mirrored = invoices_refresh(account=account)
    note = f"charge {obj['id']} refunded {obj.get('amount_refunded')} {obj.get('currency')}"
    return Outcome(EventState.DONE, f"{note}; {mirrored} invoices mirrored", account)


def charge_dispute_created(event: WebhookEvent) -> Outcome:
    """A dispute names only its charge: ask Stripe whose it is, then flag it for the
    operator (the log and this event in the admin) and re-mirror the invoices."""
    dispute = _object(event)
    charge_id = _id(dispute.get("charge")) or ""
    try:
        customer_id = gateway.charge_customer(charge_id) if charge_id else None
    except InvalidBillingRequest:
        customer_id = None  # a charge Stripe does not know (or a test account's)
    account = billing_account_for_customer(customer_id) if customer_id else None
    if account is None:
        return _unknown(customer_id)
    logger.warning(
        "stripe dispute opened",
        extra={"dispute": dispute.get("id"), "tenant_id": account.tenant_id},
    )
    invoices_refresh(account=account)
    note = (
        f"dispute {dispute.get('id')} on {charge_id}: {dispute.get('amount')} "
        f"{dispute.get('currency')} ({dispute.get('reason')})"
    )
    return Outcome(EventState.DONE, note, account)


HANDLERS: dict[str, Callable[[WebhookEvent], Outcome]] = {
    "checkout.session.completed": checkout_session_completed,
    "customer.subscription.created": subscription_changed,
    "customer.subscription.updated": subscription_changed,
    "customer.subscription.deleted": subscription_changed,
    "customer.subscription.trial_will_end": subscription_changed,
    "customer.subscription.paused": subscription_changed,
    "customer.subscription.resumed": subscription_changed,
    "subscription_schedule.created": schedule_changed,
    "subscription_schedule.updated": schedule_changed,
    "subscription_schedule.released": schedule_changed,
    "subscription_schedule.canceled": schedule_changed,
    "subscription_schedule.completed": schedule_changed,
    "invoice.created": invoice_changed,
    "invoice.finalized": invoice_changed,
    "invoice.paid": invoice_changed,
    "invoice.payment_failed": invoice_changed,
    "invoice.payment_action_required": invoice_changed,
    "invoice.upcoming": invoice_upcoming,
    "customer.updated": customer_updated,
    "payment_method.attached": payment_method_attached,
    "charge.refunded": charge_refunded,
    "charge.dispute.created": charge_dispute_created,
}


def handle(event: WebhookEvent) -> Outcome:
    handler = HANDLERS.get(event.type)
    if handler is None:
        return Outcome(EventState.IGNORED, "event type not handled")
    return handler(event)
