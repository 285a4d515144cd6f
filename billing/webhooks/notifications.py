"""Billing emails caused by Stripe events, sent once per (event, kind).

The WebhookNotification row and the queued emails commit together with the event's
processing: a repeated, concurrent or replayed event finds the row and sends nothing, and a
rolled-back run queues nothing (emails go out on commit).
"""

from datetime import datetime
from typing import Any

from accounts.models import Membership, Role
from billing import gateway
from billing.models import BillingAccount
from saas.mail import email_send_later

from ..models import WebhookEvent, WebhookNotification

# ISO 4217 currencies without minor units (Stripe's list of zero-decimal currencies).
_ZERO_DECIMAL = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
    "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
}  # fmt: skip


def money(amount: int, currency: str) -> str:
    """Minor units as a display string: 1900, "usd" -> "19.00 USD"."""
    code = currency.lower()
    if code in _ZERO_DECIMAL:
        return f"{amount} {code.upper()}"
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{whole:,}.{cents:02d} {code.upper()}"


def _date(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else ""


def billing_recipients(account: BillingAccount) -> list[str]:
    """The organization's owner and billing members (active accounts only)."""
    members = Membership.objects.filter(
        tenant_id=account.tenant_id, role__in=[Role.OWNER, Role.BILLING], user__is_active=True
    ).order_by("role", "user__email")
    return list(dict.fromkeys(members.values_list("user__email", flat=True)))


def _send(
    *, event: WebhookEvent, account: BillingAccount, kind: str, context: dict[str, Any]
) -> bool:
    recipients = billing_recipients(account)
    if not recipients:
        return False
    _, created = WebhookNotification.objects.get_or_create(
        event=event, kind=kind, defaults={"recipients": recipients}
    )
    if not created:
        return False
    full = {"organization": account.tenant.name, "plan": account.plan.name, **context}
    for to in recipients:
        email_send_later(template=f"billing_{kind}", to=to, context=full)
    return True


def _invoice_context(invoice: gateway.Invoice) -> dict[str, Any]:
    return {
        "number": invoice.number or invoice.id,
        "amount_paid": money(invoice.amount_paid, invoice.currency),
        "amount_due": money(invoice.amount_due, invoice.currency),
        "period_start": _date(invoice.period_start),
        "period_end": _date(invoice.period_end),
        "hosted_invoice_url": invoice.hosted_invoice_url or "",
        "invoice_pdf": invoice.invoice_pdf or "",
        "next_payment_attempt": _date(invoice.next_payment_attempt),
    }


def receipt(*, event: WebhookEvent, account: BillingAccount, invoice: gateway.Invoice) -> bool:
    return _send(event=event, account=account, kind="receipt", context=_invoice_context(invoice))


def payment_failed(
    *, event: WebhookEvent, account: BillingAccount, invoice: gateway.Invoice
) -> bool:
    return _send(
        event=event, account=account, kind="payment_failed", context=_invoice_context(invoice)
    )


def payment_action_required(
    *, event: WebhookEvent, account: BillingAccount, invoice: gateway.Invoice
) -> bool:
    context = _invoice_context(invoice)
    return _send(event=event, account=account, kind="payment_action_required", context=context)


def trial_ending(
    *, event: WebhookEvent, account: BillingAccount, subscription: gateway.Subscription
) -> bool:
    context = {"trial_end": _date(subscription.trial_end)}
    return _send(event=event, account=account, kind="trial_ending", context=context)


def subscription_canceled(*, event: WebhookEvent, account: BillingAccount) -> bool:
    return _send(event=event, account=account, kind="subscription_canceled", context={})
