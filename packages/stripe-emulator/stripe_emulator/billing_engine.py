"""Subscription billing: periods, what each invoice bills, status after payment, prorations.

Periods live on subscription items (current API shape). Invoices themselves: invoicing.py.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

from .errors import card_error
from .invoicing import DAY, Decline, Line, add_line, collect, new_invoice, open_invoice, pay
from .store import Obj, Store


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
) -> tuple[Obj, Decline | None]:
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
    cancel_schedule_of(st, sub, at)


def cancel_schedule_of(st: Store, sub: Obj, at: int) -> None:
    """A schedule can't outlive its subscription: Stripe cancels it when the subscription
    ends (a cancel, the last failed retry), not when the schedule itself finishes."""
    sched = st.find(sub.get("schedule"), "subscription_schedule")
    if sched and sched["status"] in ("not_started", "active"):
        sched.update(status="canceled", canceled_at=at, current_phase=None)
        st.emit("subscription_schedule.canceled", sched)


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
        or not start <= at < end
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


def retry(st: Store, inv: Obj, now: int, pm_id: str | None = None) -> Decline | None:
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


# ---- subscription transitions the clock and the API both make ------------------------


def end_trial(st: Store, sub: Obj, t: int) -> None:
    """Trial over: bill the first paid period (or pause/cancel without a payment method)."""
    before = st.render(sub)
    if sub["cancel_at"] and sub["cancel_at"] <= t:
        return cancel_scheduled(st, sub, t)
    customer = st.get(sub["customer"], "customer")
    sub.update(trial_end=t, billing_cycle_anchor=t)
    for item in sub["items"]["data"]:
        item.update(current_period_start=t, current_period_end=next_period_end(sub, t))
    has_pm = sub["default_payment_method"] or customer["invoice_settings"]["default_payment_method"]
    behavior = sub["trial_settings"]["end_behavior"]["missing_payment_method"]
    if not has_pm and behavior == "pause":
        sub["status"] = "paused"
        st.changed(sub, before, "customer.subscription.updated")
        st.emit("customer.subscription.paused", sub)
        return None
    if not has_pm and behavior == "cancel":
        cancel(st, sub, "cancellation_requested", t)
    else:
        sub["status"] = "active"
        end = sub["items"]["data"][0]["current_period_end"]
        bill(st, sub, "subscription_cycle", licensed_lines(st, sub, t, end), t)
    emit_sub_change(st, sub, before)
    return None


def cancel_scheduled(st: Store, sub: Obj, t: int) -> None:
    before = st.render(sub)
    cancel(st, sub, "cancellation_requested", t)
    emit_sub_change(st, sub, before)


def resume(st: Store, sub: Obj, t: int) -> None:
    """A paused subscription starts a new cycle now and bills it."""
    before = st.render(sub)
    sub.update(status="active", billing_cycle_anchor=t)
    end = next_period_end(sub, t)
    for item in sub["items"]["data"]:
        item.update(current_period_start=t, current_period_end=end)
    bill(st, sub, "subscription_cycle", licensed_lines(st, sub, t, end), t)
    st.emit("customer.subscription.resumed", sub)
    emit_sub_change(st, sub, before)
