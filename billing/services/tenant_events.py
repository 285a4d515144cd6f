"""The organization's own billing told to its webhook endpoints (saas.webhooks_out). The
writers of the mirror (subscription_apply, subscription_mark_canceled, invoice_apply) call
these in their transaction with what the mirror held before, and an event is recorded only
when the mirror changed: a duplicate or replayed Stripe event refetches a state the mirror
holds already, and an older one is refused by the mirror, so neither sends anything again.

Which change is which event:
- subscription.created: the mirror took a new subscription that has not ended;
- subscription.canceled: the subscription ended (canceled, incomplete_expired);
- subscription.updated: any other change of SUBSCRIPTION_FIELDS (a renewal's period, status,
  plan, seats, cancel_at_period_end, ...), with `previous_attributes`; the bookkeeping of a
  subscription that has ended already (the free plan it leaves behind) sends nothing;
- invoice.finalized: an invoice first seen past draft (with invoice.paid too if it is paid);
- invoice.paid: an invoice became paid;
- invoice.payment_failed: Stripe's count of payment attempts grew and it is still unpaid.
"""

from dataclasses import dataclass
from typing import Any

from billing.ledger.models import Invoice
from billing.models import BillingAccount, Plan, Price, SubscriptionStatus
from saas.audit.services import audit_values
from saas.webhooks_out.payloads import invoice_data, subscription_data
from saas.webhooks_out.services import webhook_event_record

SUBSCRIPTION_FIELDS = (
    "stripe_subscription_id",
    "plan_id",
    "price_id",
    "status",
    "quantity",
    "current_period_start",
    "current_period_end",
    "trial_end",
    "cancel_at_period_end",
    "scheduled_price_id",
)
ENDED = (SubscriptionStatus.CANCELED, SubscriptionStatus.INCOMPLETE_EXPIRED)
INVOICE_FIELDS = ("status", "attempt_count")


def subscription_values(account: BillingAccount) -> dict[str, Any]:
    """What the mirror holds now: keep it before a change, for `subscription_event`."""
    return audit_values(account, SUBSCRIPTION_FIELDS)


@dataclass(frozen=True)
class SubscriptionEvent:
    type: str
    data: dict[str, Any]
    account: BillingAccount

    @property
    def ends(self) -> bool:
        return self.type == "subscription.canceled"

    def record(self) -> None:
        """In the caller's transaction, in the organization's schema. Record an ending
        before the free plan is saved and anything else after the plan is: endpoints get
        events only on a plan with the developer platform, and the organization had it
        before an ending, and has it after a first subscription starts."""
        webhook_event_record(event_type=self.type, data=self.data, tenant=self.account.tenant)


def subscription_event(
    *, account: BillingAccount, before: dict[str, Any]
) -> SubscriptionEvent | None:
    """The event `account`'s unsaved changes since `before` make, if any."""
    after = subscription_values(account)
    if after == before:
        return None
    new = before["stripe_subscription_id"] != account.stripe_subscription_id
    if account.status in ENDED:
        if new or before["status"] in ENDED:
            return None  # one we never announced, or the aftermath of an ending
        plan, price = _plan_and_price(before)
        data = subscription_data(account, plan=plan, price=price)
        return SubscriptionEvent("subscription.canceled", data, account)
    data = subscription_data(account, plan=account.plan, price=account.price)
    if new:
        return SubscriptionEvent("subscription.created", data, account)
    data["previous_attributes"] = _previous_attributes(before, data)
    return SubscriptionEvent("subscription.updated", data, account)


def _plan_and_price(values: dict[str, Any]) -> tuple[Plan, Price | None]:
    price = Price.objects.filter(pk=values["price_id"]).first() if values["price_id"] else None
    return Plan.objects.get(pk=values["plan_id"]), price


def _previous_attributes(before: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The payload's fields that changed, as they were."""
    earlier = BillingAccount(**{name: before[name] for name in SUBSCRIPTION_FIELDS})
    earlier.scheduled_price = (
        Price.objects.filter(pk=before["scheduled_price_id"]).first()
        if before["scheduled_price_id"]
        else None
    )
    plan, price = _plan_and_price(before)
    then = subscription_data(earlier, plan=plan, price=price)
    return {name: value for name, value in then.items() if data[name] != value}


def invoice_values(invoice: Invoice | None) -> dict[str, Any] | None:
    """What the mirror holds for an invoice (None: not mirrored yet), to pass to
    `invoice_events_record`."""
    return None if invoice is None else audit_values(invoice, INVOICE_FIELDS)


def invoice_events_record(*, invoice: Invoice, before: dict[str, Any] | None) -> None:
    """The events of the invoice's change since `before`, in the current (the
    organization's) schema and the caller's transaction."""
    was_draft = before is None or before["status"] == "draft"
    types = []
    if was_draft and invoice.status != "draft":
        types.append("invoice.finalized")
    if invoice.status == "paid" and (before is None or before["status"] != "paid"):
        types.append("invoice.paid")
    attempts_before = before["attempt_count"] if before is not None else 0
    if invoice.status != "paid" and invoice.attempt_count > attempts_before:
        types.append("invoice.payment_failed")
    for event_type in types:
        webhook_event_record(event_type=event_type, data=invoice_data(invoice))
