"""The invoice mirror, kept in the tenant's own schema; its changes are told to the
organization's webhook endpoints (tenant_events)."""

import time

from django.db import transaction

from billing import gateway
from billing.ledger.models import Invoice
from billing.models import BillingAccount

from .tenant_events import invoice_events_record, invoice_values


def invoice_apply(*, account: BillingAccount, invoice: gateway.Invoice, stripe_time: int) -> bool:
    """Mirror `invoice` into the account's tenant schema unless we hold newer state. Only an
    invoice of the account's own customer is ever mirrored (invoice_is_the_customers)."""
    if not invoice_is_the_customers(account=account, invoice=invoice):
        return False
    # The tenant as a context manager switches to its schema and back to wherever we were.
    with account.tenant, transaction.atomic():
        current = Invoice.objects.select_for_update().filter(stripe_invoice_id=invoice.id).first()
        if current is not None and stripe_time < current.stripe_state_at:
            return False
        held = invoice_values(current)
        fields = {
            "stripe_subscription_id": invoice.subscription or "",
            "number": invoice.number or "",
            "status": invoice.status,
            "currency": invoice.currency,
            "subtotal": invoice.subtotal,
            "total": invoice.total,
            "amount_due": invoice.amount_due,
            "amount_paid": invoice.amount_paid,
            "amount_remaining": invoice.amount_remaining,
            "period_start": invoice.period_start,
            "period_end": invoice.period_end,
            "hosted_invoice_url": invoice.hosted_invoice_url or "",
            "invoice_pdf": invoice.invoice_pdf or "",
            "next_payment_attempt": invoice.next_payment_attempt,
            "attempt_count": invoice.attempt_count,
            "created": invoice.created,
            "stripe_state_at": stripe_time,
        }
        mirrored, _ = Invoice.objects.update_or_create(
            stripe_invoice_id=invoice.id, defaults=fields
        )
        invoice_events_record(invoice=mirrored, before=held)
        return True


def invoices_refresh(*, account: BillingAccount) -> int:
    """Mirror every invoice of the account's customer (the nightly sync, and repair)."""
    if not account.stripe_customer_id:
        return 0
    count = 0
    for invoice in gateway.invoices_for_customer(account.stripe_customer_id):
        count += invoice_apply(account=account, invoice=invoice, stripe_time=int(time.time()))
    return count


def invoice_is_the_customers(*, account: BillingAccount, invoice: gateway.Invoice) -> bool:
    """Whether Stripe billed `invoice` to the account's own customer."""
    return bool(account.stripe_customer_id) and invoice.customer == account.stripe_customer_id
