"""Invoices, payments, dunning and prorations: the part of Stripe Billing that is modelled.

Amounts are integer minor units. Periods live on subscription items (current API shape).
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import Any, NamedTuple

from . import payments
from .errors import card_error
from .fixtures import shape
from .store import Obj, Store

DAY = 86400


def add_interval(ts: int, interval: str, count: int, anchor: int) -> int:
    """`ts` plus `count` intervals; months keep the anchor's day, clamped to short months."""
    if interval in ("day", "week"):
        return ts + count * DAY * (7 if interval == "week" else 1)
    start = datetime.fromtimestamp(ts, tz=UTC)
    months = start.month - 1 + count * (12 if interval == "year" else 1)
    year, month = start.year + months // 12, months % 12 + 1
    day = min(datetime.fromtimestamp(anchor, tz=UTC).day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


def next_period_end(sub: Obj, start: int) -> int:
    rec = sub["items"]["data"][0]["price"]["recurring"]
    return add_interval(start, rec["interval"], rec["interval_count"], sub["billing_cycle_anchor"])


def product_name(st: Store, price: Obj) -> str:
    product = st.find(price["product"], "product")
    return str(product["name"] if product else price["product"])


def describe(st: Store, price: Obj, quantity: int) -> str:
    """Stripe's line description, e.g. `1 × Pro (at $10.00 / month)`."""
    name = product_name(st, price)
    rec = price.get("recurring") or {}
    every = (
        rec.get("interval", "")
        if rec.get("interval_count", 1) == 1
        else f"every {rec['interval_count']} {rec['interval']}s"
    )
    amount = (
        f"${price['unit_amount'] / 100:.2f}"
        if price["currency"] == "usd"
        else f"{price['unit_amount'] / 100:.2f} {price['currency'].upper()}"
    )
    return f"{quantity} × {name} (at {amount} / {every})"


# --- invoices ------------------------------------------------------------------------------
def new_invoice(st: Store, customer: Obj, sub: Obj | None, reason: str, now: int) -> Obj:
    """A draft invoice, not yet stored: callers add lines, then `open_invoice`."""
    inv = shape("invoice")
    inv_id = st.new_id("in", 24)
    inv.update(
        id=inv_id,
        account_name="Stripe emulator",
        account_tax_ids=None,
        amount_overpaid=0,
        amount_due=0,
        amount_paid=0,
        amount_remaining=0,
        amount_shipping=0,
        attempt_count=0,
        attempted=False,
        auto_advance=True,
        billing_reason=reason,
        created=now,
        collection_method=sub["collection_method"] if sub else "charge_automatically",
        currency=sub["currency"] if sub else customer.get("currency") or "usd",
        customer=customer["id"],
        customer_address=customer["address"],
        customer_shipping=None,
        customer_email=customer["email"],
        customer_name=customer["name"],
        customer_phone=customer["phone"],
        custom_fields=None,
        discounts=[],
        due_date=None,
        effective_at=None,
        ending_balance=None,
        from_invoice=None,
        last_finalization_error=None,
        metadata={},
        next_payment_attempt=None,
        number=None,
        period_start=now,
        period_end=now,
        shipping_cost=None,
        shipping_details=None,
        starting_balance=0,
        status="draft",
        subscription=sub["id"] if sub else None,
        test_clock=customer.get("test_clock"),
        total_pretax_credit_amounts=[],
        total_taxes=[],
        webhooks_delivered_at=None,
        automatically_finalizes_at=None,
        livemode=False,
        description=None,
        default_payment_method=None,
        account_country="US",
    )
    inv["status_transitions"] = dict.fromkeys(inv["status_transitions"])
    inv["automatic_tax"] = {
        "enabled": False,
        "liability": None,
        "status": None,
        "disabled_reason": None,
        "provider": None,
    }
    inv["lines"] = {
        "object": "list",
        "data": [],
        "has_more": False,
        "url": f"/v1/invoices/{inv_id}/lines",
    }
    inv["parent"] = (
        None
        if sub is None
        else {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": sub["metadata"], "subscription": sub["id"]},
        }
    )
    return inv


class Line(NamedTuple):
    amount: int
    description: str
    start: int
    end: int
    price: Obj
    quantity: int
    item_id: str | None = None  # subscription item
    proration: bool = False
    invoice_item: str | None = None


def add_line(st: Store, inv: Obj, ln: Line) -> Obj:
    line = shape("line_item")
    sub_id = inv["subscription"]
    line.update(
        id=st.new_id("il", 24),
        amount=ln.amount,
        subtotal=ln.amount,
        currency=inv["currency"],
        description=ln.description,
        discount_amounts=[],
        discounts=[],
        invoice=inv["id"],
        metadata={},
        livemode=False,
        period={"start": ln.start, "end": ln.end},
        quantity=ln.quantity,
        quantity_decimal=str(ln.quantity),
        subscription=sub_id,
        pretax_credit_amounts=[],
        taxes=[],
    )
    line["pricing"] = {
        "type": "price_details",
        "unit_amount_decimal": ln.price["unit_amount_decimal"],
        "price_details": {"price": ln.price["id"], "product": ln.price["product"]},
    }
    details = {
        "invoice_item": ln.invoice_item,
        "proration": ln.proration,
        "proration_details": {"credited_items": None},
        "subscription": sub_id,
    }
    if ln.item_id:
        details["subscription_item"] = ln.item_id
        line["parent"] = {
            "type": "subscription_item_details",
            "invoice_item_details": None,
            "subscription_item_details": details,
        }
    else:
        line["parent"] = {
            "type": "invoice_item_details",
            "subscription_item_details": None,
            "invoice_item_details": details,
        }
    inv["lines"]["data"].append(line)
    return line


def set_totals(inv: Obj, balance: int = 0) -> None:
    """Totals from lines; a negative customer balance is credit that reduces amount_due."""
    total = sum(line["amount"] for line in inv["lines"]["data"])
    due = total + balance
    inv.update(
        subtotal=total,
        subtotal_excluding_tax=total,
        total=total,
        total_excluding_tax=total,
        starting_balance=balance,
        amount_due=max(due, 0),
        amount_remaining=max(due, 0) - inv["amount_paid"],
    )
    inv["ending_balance"] = min(due, 0) if inv["status"] != "draft" else None


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
    inv.update(
        status="open",
        number=f"{customer['invoice_prefix']}-{seq:04d}",
        effective_at=now,
        hosted_invoice_url=f"{st.base_url}/i/{inv['id']}",
        invoice_pdf=f"{st.base_url}/i/{inv['id']}/pdf",
    )
    inv["status_transitions"]["finalized_at"] = now
    set_totals(inv, customer["balance"])
    customer["balance"] = inv["ending_balance"]
    if inv["collection_method"] == "send_invoice":
        inv["due_date"] = now + 30 * DAY
    st.emit("invoice.finalized", inv)


def mark_paid(st: Store, inv: Obj, now: int) -> None:
    inv.update(
        status="paid",
        amount_paid=inv["amount_due"],
        amount_remaining=0,
        next_payment_attempt=None,
        attempted=True,
    )
    inv["status_transitions"]["paid_at"] = now
    st.emit("invoice.paid", inv)
    st.emit("invoice.payment_succeeded", inv)


def pay(st: Store, inv: Obj, now: int, pm_id: str | None = None) -> tuple[str, str, str] | None:
    """One payment attempt: returns the decline, or None once the invoice is paid."""
    if inv["amount_due"] == 0:
        mark_paid(st, inv, now)
        return None
    customer = st.get(inv["customer"], "customer")
    sub = st.find(inv["subscription"], "subscription")
    pm_id = (
        pm_id
        or inv.get("default_payment_method")
        or (sub or {}).get("default_payment_method")
        or customer["invoice_settings"]["default_payment_method"]
    )
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


def collect(st: Store, inv: Obj, now: int, *, attempt: bool = True) -> tuple[Any, ...] | None:
    """Finalize and, for automatic collection, try to pay."""
    finalize(st, inv, now)
    if attempt and inv["collection_method"] == "charge_automatically":
        return pay(st, inv, now)
    return None


# --- subscriptions -------------------------------------------------------------------------
def licensed_lines(
    st: Store,
    sub: Obj,
    start: int,
    end: int,
    *,
    trial: bool = False,
    items: list[Obj] | None = None,
) -> list[Line]:
    """One line per licensed item for the period [start, end] (zero during a trial)."""
    lines = []
    for item in items if items is not None else sub["items"]["data"]:
        price = st.find(item["price"]["id"], "price") or item["price"]
        if price["recurring"]["usage_type"] == "metered":
            continue
        qty = item["quantity"] or 1
        amount = 0 if trial else price["unit_amount"] * qty
        desc = f"Trial period for {product_name(st, price)}" if trial else describe(st, price, qty)
        lines.append(Line(amount, desc, start, end, price, qty, item["id"]))
    return lines


def usage_lines(st: Store, sub: Obj, end: int) -> list[Line]:
    """Metered items are billed in arrears: usage from the period start up to `end`."""
    lines = []
    for item in sub["items"]["data"]:
        price = st.find(item["price"]["id"], "price") or item["price"]
        if price["recurring"]["usage_type"] != "metered":
            continue
        used = usage_total(
            st, price["recurring"]["meter"], sub["customer"], item["current_period_start"], end
        )
        lines.append(
            Line(
                price["unit_amount"] * used,
                describe(st, price, used),
                item["current_period_start"],
                end,
                price,
                used,
                item["id"],
            )
        )
    return lines


def usage_total(st: Store, meter_id: str | None, customer_id: str, start: int, end: int) -> int:
    meter = st.find(meter_id, "billing.meter")
    if meter is None:
        return 0
    who = meter["customer_mapping"]["event_payload_key"]
    key = meter["value_settings"]["event_payload_key"]
    values = [
        int(float(ev["payload"].get(key, 1)))
        for ev in st.usage
        if ev["event_name"] == meter["event_name"]
        and ev["payload"].get(who) == customer_id
        and start <= ev["timestamp"] < end
    ]
    formula = meter["default_aggregation"]["formula"]
    if formula == "count":
        return len(values)
    return (values[-1] if values else 0) if formula == "last" else sum(values)


def pending_lines(st: Store, sub: Obj, inv_id: str | None) -> list[Line]:
    """Pending invoice items (e.g. prorations) of the subscription, claimed by `inv_id`."""
    lines = []
    for ii in st.all("invoiceitem", customer=sub["customer"], invoice=None):
        if (ii["parent"] or {}).get("subscription_details", {}).get("subscription") != sub["id"]:
            continue
        if inv_id:
            ii["invoice"] = inv_id
        price = st.find(ii["pricing"]["price_details"]["price"], "price") or {}
        lines.append(
            Line(
                ii["amount"],
                ii["description"],
                ii["period"]["start"],
                ii["period"]["end"],
                price,
                ii["quantity"],
                ii["parent"]["subscription_details"].get("subscription_item"),
                ii["proration"],
                ii["id"],
            )
        )
    return lines


def bill(
    st: Store,
    sub: Obj,
    reason: str,
    lines: list[Line],
    now: int,
    *,
    attempt: bool = True,
    period: tuple[int, int] | None = None,
) -> tuple[Obj, tuple[Any, ...] | None]:
    """Invoice `lines` + pending items, finalize, maybe pay, update the subscription's status.
    `period` is the invoice's period_start/end (Stripe: the period just ended, for renewals)."""
    customer = st.get(sub["customer"], "customer")
    inv = new_invoice(st, customer, sub, reason, now)
    for ln in [*lines, *pending_lines(st, sub, inv["id"])]:
        add_line(st, inv, ln)
    if period:
        inv.update(period_start=period[0], period_end=period[1])
    open_invoice(st, inv)
    failure = collect(st, inv, now, attempt=attempt)
    sub["latest_invoice"] = inv["id"]
    settle(st, sub, inv)
    return inv, failure


def settle(st: Store, sub: Obj, inv: Obj) -> None:
    """The subscription status that follows from its latest invoice's state."""
    if sub["status"] in ("canceled", "incomplete_expired"):
        return
    if inv["status"] == "paid":
        if sub["status"] != "trialing" and not any(
            i["status"] == "open" for i in st.all("invoice", subscription=sub["id"])
        ):
            sub["status"] = "active"
        return
    if inv["collection_method"] == "send_invoice":
        sub["status"] = "active" if sub["status"] == "incomplete" else sub["status"]
    elif inv["billing_reason"] == "subscription_create":
        sub["status"] = "incomplete"
    elif inv["status"] == "open" and inv["attempted"] and inv["next_payment_attempt"] is None:
        final = st.config.dunning_final_action
        if final == "canceled":
            cancel(st, sub, "payment_failed", st.now(sub["test_clock"]))
        else:
            sub["status"] = final
    elif inv["status"] == "open" and inv["attempted"]:
        sub["status"] = "past_due"


def cancel(st: Store, sub: Obj, reason: str, at: int) -> None:
    """End the subscription now; `customer.subscription.deleted` is emitted by callers."""
    sub.update(status="canceled", ended_at=at, canceled_at=sub["canceled_at"] or at)
    sub["cancellation_details"]["reason"] = reason
    st.internal_of(sub["id"])["deleted_pending"] = True


def proration_lines(
    st: Store,
    sub: Obj,
    item: Obj,
    old: tuple[Obj, int] | None,
    new: tuple[Obj, int] | None,
    at: int,
) -> list[Line]:
    """Credit unused time on the old (price, quantity), charge the rest on the new one, each
    round(unit_amount * quantity * remaining_seconds / period_seconds). None = no side."""
    start, end = item["current_period_start"], item["current_period_end"]
    sides = [s for s in (old, new) if s is not None]
    if (
        sub["status"] == "trialing"
        or not start < at < end
        or any(price["recurring"]["usage_type"] == "metered" for price, _ in sides)
    ):
        return []
    when = datetime.fromtimestamp(at, tz=UTC).strftime("%d %b %Y")
    lines = []
    for side, sign, label in ((old, -1, "Unused"), (new, 1, "Remaining")):
        if side is None:
            continue
        price, qty = side
        amount = sign * round(price["unit_amount"] * qty * (end - at) / (end - start))
        lines.append(
            Line(
                amount,
                f"{label} time on {describe(st, price, qty)} after {when}",
                at,
                end,
                price,
                qty,
                item["id"],
                True,
            )
        )
    return lines


def add_invoiceitem(st: Store, customer: Obj, ln: Line, sub: Obj | None, now: int) -> Obj:
    ii = shape("invoiceitem")
    ii.update(
        id=st.new_id("ii", 24),
        amount=ln.amount,
        net_amount=ln.amount,
        currency=customer.get("currency") or "usd",
        customer=customer["id"],
        date=now,
        description=ln.description,
        discounts=[],
        invoice=None,
        livemode=False,
        metadata={},
        period={"start": ln.start, "end": ln.end},
        proration=ln.proration,
        quantity=ln.quantity,
        quantity_decimal=str(ln.quantity),
        tax_rates=[],
        test_clock=customer.get("test_clock"),
        customer_account=None,
    )
    ii["parent"] = (
        None
        if sub is None
        else {
            "type": "subscription_details",
            "subscription_details": {"subscription": sub["id"], "subscription_item": ln.item_id},
        }
    )
    ii["pricing"] = {
        "type": "price_details",
        "unit_amount_decimal": ln.price.get("unit_amount_decimal"),
        "price_details": {"price": ln.price.get("id"), "product": ln.price.get("product")},
    }
    st.put(ii)
    st.emit("invoiceitem.created", ii)
    return ii


def retry(st: Store, inv: Obj, now: int, pm_id: str | None = None) -> tuple[Any, ...] | None:
    """Another payment attempt (scheduled retry or manual pay), then the subscription follows."""
    sub = st.find(inv["subscription"], "subscription")
    before = st.render(sub) if sub else None
    failure = pay(st, inv, now, pm_id)
    if sub and before is not None:
        settle(st, sub, inv)
        emit_sub_change(st, sub, before)
    return failure


def manual_pay(st: Store, inv: Obj, pm_id: str | None) -> None:
    """`POST /v1/invoices/{id}/pay`: like Stripe, a decline is a 402 (and is recorded)."""
    failure = retry(st, inv, st.customer_now(inv["customer"]), pm_id)
    if failure:
        raise card_error(*failure, commit=True)


def emit_sub_change(st: Store, sub: Obj, before: Obj) -> None:
    if st.internal_of(sub["id"]).pop("deleted_pending", False):
        st.emit("customer.subscription.deleted", sub)
    else:
        st.changed(sub, before, "customer.subscription.updated")
