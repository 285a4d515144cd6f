"""Invoices, invoice items and invoice previews."""

from __future__ import annotations

import copy

from .. import billing_engine as be
from .. import invoicing as iv
from .. import payments
from ..errors import StripeError, invalid
from ..fixtures import shape
from ..params import Params, apply_metadata, as_list, nested, req, set_fields, to_bool, to_int
from ..routing import route
from ..store import Obj, Store
from . import schedules
from .subscriptions import (
    change_items,
    check_proration_date,
    new_item,
    recurring_price,
    restart_cycle,
)

# --- previews ------------------------------------------------------------------------------


def preview(st: Store, sub: Obj, details: Params, now: int) -> Obj:
    """The invoice a subscription change would produce, computed on a copy (nothing stored)."""
    sim = copy.deepcopy(sub)
    customer = st.get(sub["customer"], "customer")
    at = to_int(details, "proration_date", now, label="subscription_details[proration_date]")
    check_proration_date(sub, details, "subscription_details[proration_date]")
    behavior = details.get("proration_behavior") or "create_prorations"
    specs = as_list(details, "items")
    prorations, restarted = (
        change_items(st, sim, specs, at or now, behavior != "none") if specs else ([], False)
    )
    pending = be.pending_lines(st, sim, None)
    items = sim["items"]["data"]
    restarted = restarted and sim["status"] != "trialing"  # as the update: the trial goes on
    if restarted or (behavior == "always_invoice" and specs):
        reason, created = "subscription_update", now
        if restarted:
            restart_cycle(sim, now)
            prorations += be.licensed_lines(st, sim, now, items[0]["current_period_end"])
        lines = pending + prorations
    elif sim["status"] == "trialing":
        reason, created = "subscription_cycle", sim["trial_end"]
        lines = pending + be.licensed_lines(st, sim, created, be.next_period_end(sim, created))
    else:
        end = items[0]["current_period_end"]
        reason, created = "subscription_cycle", end
        usage = be.usage_lines(st, sim, min(now, end))
        schedules.preview_period_end(st, sim, end)  # the renewal bills the next phase's items
        lines = (
            pending
            + prorations
            + usage
            + be.licensed_lines(st, sim, end, be.next_period_end(sim, end))
        )
    return _preview_invoice(st, customer, sim, reason, created, lines)


def _preview_invoice(
    st: Store, customer: Obj, sub: Obj, reason: str, created: int, lines: list[iv.Line]
) -> Obj:
    inv = iv.new_invoice(st, customer, sub, reason, created)
    inv["id"] = st.new_id("upcoming_in", 24)
    inv["lines"]["url"] = f"/v1/invoices/{inv['id']}/lines"
    for ln in lines:
        iv.add_line(st, inv, ln)
    iv.set_totals(inv, customer["balance"])
    inv["ending_balance"] = None
    return inv


def _new_subscription_preview(st: Store, customer: Obj, details: Params, now: int) -> Obj:
    specs = as_list(details, "items")
    sim: Obj = {
        "id": None,
        "created": now,
        "customer": customer["id"],
        "metadata": {},
        "collection_method": "charge_automatically",
        "status": "active",
    }
    prices = [
        recurring_price(st, s, f"subscription_details[items][{i}][price]")
        for i, s in enumerate(specs)
    ]
    rec = prices[0]["recurring"]
    end = be.add_interval(now, rec["interval"], rec["interval_count"], now)
    sim["currency"] = prices[0]["currency"]
    sim["items"] = {
        "data": [
            new_item(st, sim, price, s, i, (now, end))
            for i, (price, s) in enumerate(zip(prices, specs, strict=True))
        ]
    }
    return _preview_invoice(
        st, customer, sim, "subscription_create", now, be.licensed_lines(st, sim, now, end)
    )


@route("POST", "/v1/invoices/create_preview")
def create_preview(st: Store, p: Params) -> Obj:
    details = nested(p, "subscription_details")
    if p.get("subscription"):
        sub = st.get(p["subscription"], "subscription", "subscription")
        return preview(st, sub, details, st.customer_now(sub["customer"]))
    customer = st.get(req(p, "customer"), "customer", "customer")
    now = st.customer_now(customer["id"])
    if as_list(details, "items"):
        return _new_subscription_preview(st, customer, details, now)
    subs = [
        s
        for s in st.all("subscription", customer=customer["id"])
        if s["status"] in ("trialing", "active", "past_due")
    ]
    if not subs:
        raise StripeError(
            400,
            "No upcoming invoices for customer: " + customer["id"],
            code="invoice_upcoming_none",
        )
    return preview(st, subs[-1], details, now)


# --- invoices ------------------------------------------------------------------------------


@route("POST", "/v1/invoices")
def create_invoice(st: Store, p: Params) -> Obj:
    customer = st.get(req(p, "customer"), "customer", "customer")
    sub = (
        st.get(p["subscription"], "subscription", "subscription") if p.get("subscription") else None
    )
    inv = iv.new_invoice(st, customer, sub, "manual", st.now(customer["test_clock"]))
    inv["collection_method"] = p.get("collection_method") or inv["collection_method"]
    inv["auto_advance"] = to_bool(p, "auto_advance", False)
    _apply_invoice(st, inv, p)
    if p.get("pending_invoice_items_behavior") == "include":
        for ii in st.all("invoiceitem", customer=customer["id"], invoice=None):
            ii["invoice"] = inv["id"]
            _add_item_line(st, inv, ii)
    return iv.open_invoice(st, inv)


def _apply_invoice(st: Store, inv: Obj, p: Params) -> None:
    set_fields(inv, p, "description", "footer")
    apply_metadata(inv, p)
    if "auto_advance" in p:
        inv["auto_advance"] = to_bool(p, "auto_advance")
    if p.get("default_payment_method"):
        inv["default_payment_method"] = st.get(
            p["default_payment_method"], "payment_method", "default_payment_method"
        )["id"]


def _add_item_line(st: Store, inv: Obj, ii: Obj) -> None:
    price = st.find(ii["pricing"]["price_details"]["price"], "price") or {
        "id": None,
        "product": None,
        "unit_amount_decimal": str(ii["amount"]),
    }
    iv.add_line(
        st,
        inv,
        iv.Line(
            ii["amount"],
            ii["description"],
            ii["period"]["start"],
            ii["period"]["end"],
            price,
            ii["quantity"],
            None,
            ii["proration"],
            ii["id"],
        ),
    )


def _invoice(st: Store, inv_id: str, *statuses: str) -> Obj:
    inv = st.get(inv_id, "invoice")
    if statuses and inv["status"] not in statuses:
        raise StripeError(
            400,
            f"Invoice {inv_id} is {inv['status']}; this needs {' or '.join(statuses)}.",
            code="invoice_not_editable" if "draft" in statuses else "invoice_unexpected_status",
        )
    return inv


@route("GET", "/v1/invoices/{id}")
def get_invoice(st: Store, p: Params, inv_id: str) -> Obj:
    return _invoice(st, inv_id)


@route("POST", "/v1/invoices/{id}")
def update_invoice(st: Store, p: Params, inv_id: str) -> Obj:
    inv = _invoice(st, inv_id)
    before = st.render(inv)
    _apply_invoice(st, inv, p)
    st.changed(inv, before, "invoice.updated")
    return inv


@route("DELETE", "/v1/invoices/{id}")
def delete_invoice(st: Store, p: Params, inv_id: str) -> Obj:
    inv = _invoice(st, inv_id, "draft")
    for ii in st.all("invoiceitem", invoice=inv_id):
        ii["invoice"] = None
    del st.objects[inv_id]
    st.emit("invoice.deleted", inv)
    return {**shape("deleted_invoice"), "id": inv_id}


@route("GET", "/v1/invoices")
def list_invoices(st: Store, p: Params) -> Obj:
    keys = ("customer", "subscription", "status", "collection_method")
    return st.paginate(st.all("invoice", **{k: p[k] for k in keys if p.get(k)}), p, "/v1/invoices")


@route("GET", "/v1/invoices/{id}/lines")
def list_lines(st: Store, p: Params, inv_id: str) -> Obj:
    lines = _invoice(st, inv_id)["lines"]["data"]
    return st.paginate(list(reversed(lines)), p, f"/v1/invoices/{inv_id}/lines")


@route("POST", "/v1/invoices/{id}/finalize")
def finalize_invoice(st: Store, p: Params, inv_id: str) -> Obj:
    inv = _invoice(st, inv_id, "draft")
    iv.finalize(st, inv, st.customer_now(inv["customer"]))
    return inv


@route("POST", "/v1/invoices/{id}/pay")
def pay_invoice(st: Store, p: Params, inv_id: str) -> Obj:
    inv = _invoice(st, inv_id, "draft", "open")
    now = st.customer_now(inv["customer"])
    if inv["status"] == "draft":
        iv.finalize(st, inv, now)
    if to_bool(p, "paid_out_of_band", False):
        iv.mark_paid(st, inv, now)
        return inv
    be.manual_pay(st, inv, p.get("payment_method") or None)
    return inv


@route("POST", "/v1/invoices/{id}/void")
def void_invoice(st: Store, p: Params, inv_id: str) -> Obj:
    inv = _invoice(st, inv_id, "open", "uncollectible")
    inv.update(status="void", next_payment_attempt=None, amount_remaining=0)
    inv["status_transitions"]["voided_at"] = st.customer_now(inv["customer"])
    payments.cancel_invoice_payment(st, inv, inv["status_transitions"]["voided_at"])
    st.emit("invoice.voided", inv)
    return inv


@route("POST", "/v1/invoices/{id}/mark_uncollectible")
def mark_uncollectible(st: Store, p: Params, inv_id: str) -> Obj:
    inv = _invoice(st, inv_id, "open")
    inv.update(status="uncollectible", next_payment_attempt=None)
    inv["status_transitions"]["marked_uncollectible_at"] = st.customer_now(inv["customer"])
    st.emit("invoice.marked_uncollectible", inv)
    return inv


# --- invoice items -------------------------------------------------------------------------


@route("POST", "/v1/invoiceitems")
def create_invoiceitem(st: Store, p: Params) -> Obj:
    customer = st.get(req(p, "customer"), "customer", "customer")
    sub = (
        st.get(p["subscription"], "subscription", "subscription") if p.get("subscription") else None
    )
    inv = _invoice(st, p["invoice"], "draft") if p.get("invoice") else None
    qty = to_int(p, "quantity", 1) or 1
    pricing = nested(p, "pricing")
    price_id = p.get("price") or pricing.get("price")
    if price_id:
        price = st.get(price_id, "price", "pricing[price]")
        amount = price["unit_amount"] * qty
    else:
        amount = to_int(p, "amount") if p.get("amount") not in (None, "") else req(p, "amount")
        price = {"id": None, "product": None, "unit_amount_decimal": str(amount)}
    now = st.now(customer["test_clock"])
    period = nested(p, "period")
    line = iv.Line(
        int(amount),
        p.get("description") or "",
        to_int(period, "start", now) or now,
        to_int(period, "end", now) or now,
        price,
        qty,
    )
    ii = iv.add_invoiceitem(st, customer, line, sub, now)
    apply_metadata(ii, p)
    if inv:
        ii["invoice"] = inv["id"]
        _add_item_line(st, inv, ii)
        iv.set_totals(inv)
    return ii


@route("GET", "/v1/invoiceitems/{id}")
def get_invoiceitem(st: Store, p: Params, ii_id: str) -> Obj:
    return st.get(ii_id, "invoiceitem")


@route("POST", "/v1/invoiceitems/{id}")
def update_invoiceitem(st: Store, p: Params, ii_id: str) -> Obj:
    ii = st.get(ii_id, "invoiceitem")
    if ii["invoice"]:
        raise invalid("id", "Invoice items on an invoice that is not a draft cannot be updated.")
    before = st.render(ii)
    set_fields(ii, p, "description")
    if p.get("amount") not in (None, ""):
        ii["amount"] = ii["net_amount"] = to_int(p, "amount")
    apply_metadata(ii, p)
    st.changed(ii, before, "invoiceitem.updated")
    return ii


@route("DELETE", "/v1/invoiceitems/{id}")
def delete_invoiceitem(st: Store, p: Params, ii_id: str) -> Obj:
    ii = st.get(ii_id, "invoiceitem")
    if ii["invoice"]:
        raise invalid("id", "Invoice items already on an invoice cannot be deleted.")
    del st.objects[ii_id]
    st.emit("invoiceitem.deleted", ii)
    return {**shape("deleted_invoiceitem"), "id": ii_id}


@route("GET", "/v1/invoiceitems")
def list_invoiceitems(st: Store, p: Params) -> Obj:
    items = st.all("invoiceitem", **{k: p[k] for k in ("customer", "invoice") if p.get(k)})
    if p.get("pending") not in (None, ""):
        items = [i for i in items if (i["invoice"] is None) == to_bool(p, "pending")]
    return st.paginate(items, p, "/v1/invoiceitems")


# --- the payments of an invoice, refunds ----------------------------------------------------


@route("GET", "/v1/invoice_payments")
def list_invoice_payments(st: Store, p: Params) -> Obj:
    found = st.all("invoice_payment", **{k: p[k] for k in ("invoice", "status") if p.get(k)})
    intent = nested(p, "payment").get("payment_intent")
    if intent:
        found = [ip for ip in found if ip["payment"].get("payment_intent") == intent]
    return st.paginate(found, p, "/v1/invoice_payments")


@route("GET", "/v1/invoice_payments/{id}")
def get_invoice_payment(st: Store, p: Params, ip_id: str) -> Obj:
    return st.get(ip_id, "invoice_payment")


@route("GET", "/v1/payment_intents/{id}")
def get_payment_intent(st: Store, p: Params, pi_id: str) -> Obj:
    return st.get(pi_id, "payment_intent")


@route("POST", "/v1/refunds")
def create_refund(st: Store, p: Params) -> Obj:
    return payments.refund(st, p)


@route("GET", "/v1/refunds/{id}")
def get_refund(st: Store, p: Params, re_id: str) -> Obj:
    return st.get(re_id, "refund")


@route("GET", "/v1/refunds")
def list_refunds(st: Store, p: Params) -> Obj:
    match = {k: p[k] for k in ("charge", "payment_intent") if p.get(k)}
    return st.paginate(st.all("refund", **match), p, "/v1/refunds")
