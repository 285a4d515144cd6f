"""Invoices: building lines, totals, finalizing, paying, the retry schedule, invoice items.

Amounts are integer minor units.
"""

from __future__ import annotations

from typing import NamedTuple

from . import payments
from .fixtures import build
from .store import Obj, Store

DAY = 86400
Decline = tuple[str, str, str]  # (code, decline_code, message)


class Line(NamedTuple):
    """An invoice line to be: from a subscription item, usage, or an invoice item."""

    amount: int
    description: str
    start: int
    end: int
    price: Obj
    quantity: int
    item_id: str | None = None  # the subscription item
    proration: bool = False
    invoice_item: str | None = None


def new_invoice(st: Store, customer: Obj, sub: Obj | None, reason: str, now: int) -> Obj:
    """A draft invoice, not yet stored: callers add lines, then `open_invoice`."""
    inv_id = st.new_id("in", 24)
    lines_url = f"/v1/invoices/{inv_id}/lines"
    inv = build(
        "invoice",
        nulls="account_tax_ids custom_fields customer_shipping default_payment_method "
        "description due_date effective_at ending_balance from_invoice last_finalization_error "
        "next_payment_attempt number shipping_cost shipping_details webhooks_delivered_at "
        "automatically_finalizes_at",
        zeros="amount_overpaid amount_due amount_paid amount_remaining amount_shipping "
        "attempt_count starting_balance",
        empty="discounts total_pretax_credit_amounts total_taxes",
        id=inv_id,
        account_name="Stripe emulator",
        account_country="US",
        attempted=False,
        auto_advance=True,
        billing_reason=reason,
        created=now,
        period_start=now,
        period_end=now,
        status="draft",
        collection_method=sub["collection_method"] if sub else "charge_automatically",
        currency=sub["currency"] if sub else customer.get("currency") or "usd",
        customer=customer["id"],
        customer_address=customer["address"],
        customer_email=customer["email"],
        customer_name=customer["name"],
        customer_phone=customer["phone"],
        subscription=sub["id"] if sub else None,
        test_clock=customer.get("test_clock"),
        lines={"object": "list", "data": [], "has_more": False, "url": lines_url},
    )
    inv["status_transitions"] = dict.fromkeys(inv["status_transitions"])
    inv["automatic_tax"] = {**dict.fromkeys(inv["automatic_tax"]), "enabled": False}
    if sub:
        details = {"metadata": sub["metadata"], "subscription": sub["id"]}
        inv["parent"] = {"type": "subscription_details", "quote_details": None}
        inv["parent"]["subscription_details"] = details
    else:
        inv["parent"] = None
    return inv


def add_line(st: Store, inv: Obj, ln: Line) -> Obj:
    sub_id = inv["subscription"]
    line = build(
        "line_item",
        empty="discount_amounts discounts pretax_credit_amounts taxes",
        id=st.new_id("il", 24),
        amount=ln.amount,
        subtotal=ln.amount,
        currency=inv["currency"],
        description=ln.description,
        invoice=inv["id"],
        period={"start": ln.start, "end": ln.end},
        quantity=ln.quantity,
        quantity_decimal=str(ln.quantity),
        subscription=sub_id,
    )
    price_details = {"price": ln.price["id"], "product": ln.price["product"]}
    line["pricing"] = {"type": "price_details", "price_details": price_details}
    line["pricing"]["unit_amount_decimal"] = ln.price["unit_amount_decimal"]
    details: Obj = {"invoice_item": ln.invoice_item, "proration": ln.proration}
    details.update(proration_details={"credited_items": None}, subscription=sub_id)
    # Current API: a line's origin is `parent`, typed by where it came from.
    kind = "subscription_item_details" if ln.item_id else "invoice_item_details"
    if ln.item_id:
        details["subscription_item"] = ln.item_id
    line["parent"] = {"type": kind, "subscription_item_details": None, "invoice_item_details": None}
    line["parent"][kind] = details
    inv["lines"]["data"].append(line)
    return line


def set_totals(inv: Obj, balance: int = 0) -> None:
    """Totals from lines; a negative customer balance is credit that reduces amount_due."""
    total = sum(line["amount"] for line in inv["lines"]["data"])
    due = max(total + balance, 0)
    inv.update(subtotal=total, subtotal_excluding_tax=total, total=total, starting_balance=balance)
    inv.update(total_excluding_tax=total, amount_due=due, amount_remaining=due - inv["amount_paid"])
    inv["ending_balance"] = min(total + balance, 0) if inv["status"] != "draft" else None


def open_invoice(st: Store, inv: Obj) -> Obj:
    set_totals(inv)
    st.put(inv)
    st.emit("invoice.created", inv)
    return inv


def finalize(st: Store, inv: Obj, now: int) -> None:
    """draft -> open: number, URLs, customer balance applied (credit carried forward)."""
    customer = st.get(inv["customer"], "customer")
    seq = customer["next_invoice_sequence"]
    customer["next_invoice_sequence"] = seq + 1
    inv.update(status="open", number=f"{customer['invoice_prefix']}-{seq:04d}", effective_at=now)
    inv["hosted_invoice_url"] = f"{st.base_url}/i/{inv['id']}"
    inv["invoice_pdf"] = f"{st.base_url}/i/{inv['id']}/pdf"
    inv["status_transitions"]["finalized_at"] = now
    set_totals(inv, customer["balance"])
    customer["balance"] = inv["ending_balance"]
    if inv["collection_method"] == "send_invoice":
        inv["due_date"] = now + 30 * DAY
    st.emit("invoice.finalized", inv)


def mark_paid(st: Store, inv: Obj, now: int) -> None:
    inv.update(status="paid", amount_paid=inv["amount_due"], amount_remaining=0, attempted=True)
    inv["next_payment_attempt"] = None
    inv["status_transitions"]["paid_at"] = now
    st.emit("invoice.paid", inv)
    st.emit("invoice.payment_succeeded", inv)


def pay(st: Store, inv: Obj, now: int, pm_id: str | None = None) -> Decline | None:
    """One payment attempt: returns the decline, or None once the invoice is paid."""
    if inv["amount_due"] == 0:
        mark_paid(st, inv, now)
        return None
    customer = st.get(inv["customer"], "customer")
    sub = st.find(inv["subscription"], "subscription") or {}
    # Stripe's order: explicit, invoice's, subscription's, then the customer's default.
    pm_id = pm_id or inv["default_payment_method"] or sub.get("default_payment_method")
    pm_id = pm_id or customer["invoice_settings"]["default_payment_method"]
    failure = payments.charge(st, inv, st.find(pm_id, "payment_method"), now)
    inv.update(attempt_count=inv["attempt_count"] + 1, attempted=True)
    if failure is None:
        mark_paid(st, inv, now)
        return None
    inv["next_payment_attempt"] = next_attempt(st, inv)
    st.emit("invoice.payment_failed", inv)
    if failure[0] == "authentication_required":
        st.emit("invoice.payment_action_required", inv)
    return failure


def next_attempt(st: Store, inv: Obj) -> int | None:
    """Smart-Retries-like: retries N days after the first attempt, per Config; none for the
    first invoice of a subscription (Stripe lets those expire with the subscription)."""
    days = st.config.retry_schedule_days
    if inv["billing_reason"] == "subscription_create" or inv["attempt_count"] > len(days):
        return None
    return int(inv["status_transitions"]["finalized_at"]) + days[inv["attempt_count"] - 1] * DAY


def collect(st: Store, inv: Obj, now: int, *, attempt: bool = True) -> Decline | None:
    """Finalize and, for automatic collection, try to pay."""
    finalize(st, inv, now)
    if attempt and inv["collection_method"] == "charge_automatically":
        return pay(st, inv, now)
    return None


def add_invoiceitem(st: Store, customer: Obj, ln: Line, sub: Obj | None, now: int) -> Obj:
    """A pending invoice item (e.g. a proration), picked up by the customer's next invoice."""
    ii = build(
        "invoiceitem",
        nulls="invoice customer_account",
        empty="discounts tax_rates",
        id=st.new_id("ii", 24),
        amount=ln.amount,
        net_amount=ln.amount,
        currency=customer.get("currency") or "usd",
        customer=customer["id"],
        date=now,
        description=ln.description,
        period={"start": ln.start, "end": ln.end},
        proration=ln.proration,
        quantity=ln.quantity,
        quantity_decimal=str(ln.quantity),
        test_clock=customer.get("test_clock"),
    )
    details = {"subscription": sub["id"], "subscription_item": ln.item_id} if sub else None
    ii["parent"] = (
        {"type": "subscription_details", "subscription_details": details} if sub else None
    )
    price_details = {"price": ln.price.get("id"), "product": ln.price.get("product")}
    ii["pricing"] = {"type": "price_details", "price_details": price_details}
    ii["pricing"]["unit_amount_decimal"] = ln.price.get("unit_amount_decimal")
    st.put(ii)
    st.emit("invoiceitem.created", ii)
    return ii
