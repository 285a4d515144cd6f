"""Subscriptions and subscription items: creation, plan changes with prorations, cancels."""

from __future__ import annotations

import copy

from .. import billing_engine as be
from .. import invoicing as iv
from .. import payments
from ..errors import StripeError, card_error, invalid, missing
from ..fixtures import build, shape
from ..params import Params, apply_metadata, as_list, nested, req, set_fields, to_bool, to_int
from ..routing import route
from ..store import Obj, Store, plan_of
from .core import default_pm

LIVE = ("trialing", "active", "past_due", "unpaid", "incomplete", "paused")


def recurring_price(st: Store, spec: Params, param: str) -> Obj:
    if not spec.get("price"):
        raise missing(param)
    price = st.get(spec["price"], "price", param)
    if price["type"] != "recurring":
        raise invalid(
            param,
            "The price specified is set to `type=one_time` but this field only "
            "accepts prices with `type=recurring`.",
        )
    if not price["active"]:
        raise invalid(param, f"The price specified is inactive: {price['id']}")
    return price


def new_item(st: Store, sub: Obj, price: Obj, spec: Params, i: int, period: tuple[int, int]) -> Obj:
    metered = price["recurring"]["usage_type"] == "metered"
    if metered and spec.get("quantity") not in (None, ""):
        raise invalid(f"items[{i}][quantity]", "Quantity cannot be set for metered prices.")
    quantity = None if metered else to_int(spec, "quantity", 1, label=f"items[{i}]")
    item = build(
        "subscription_item",
        nulls="billing_thresholds",
        empty="discounts tax_rates",
        id=st.new_id("si"),
        created=sub["created"],
        price=copy.deepcopy(price),
        plan=plan_of(price),
        subscription=sub["id"],
        quantity=quantity,
        current_period_start=period[0],
        current_period_end=period[1],
    )
    apply_metadata(item, spec)
    return item


def _check_intervals(items: list[Obj]) -> None:
    cycles = {
        (i["price"]["recurring"]["interval"], i["price"]["recurring"]["interval_count"])
        for i in items
    }
    if len(cycles) > 1:
        raise invalid(
            "items",
            "All prices on a subscription must have the same "
            "`recurring.interval` and `recurring.interval_count`.",
        )


def start_subscription(st: Store, customer: Obj, p: Params, *, schedule: str | None = None) -> Obj:
    """Create a subscription and its first invoice (shared by the API, Checkout and
    schedules; `schedule` is the one managing it, set before the events go out)."""
    specs = as_list(p, "items")
    if not specs:
        raise missing("items")
    prices = [recurring_price(st, s, f"items[{i}][price]") for i, s in enumerate(specs)]
    now = st.now(customer["test_clock"])
    trial_end = _trial_end(p, now)
    behavior = p.get("payment_behavior") or "allow_incomplete"
    sub = build(
        "subscription",
        nulls="application application_fee_percent billing_cycle_anchor_config cancel_at "
        "canceled_at default_payment_method default_source ended_at latest_invoice "
        "next_pending_invoice_item_invoice on_behalf_of pause_collection "
        "pending_invoice_item_interval pending_setup_intent pending_update schedule "
        "transfer_data billing_thresholds customer_account",
        empty="default_tax_rates discounts billing_schedules",
        id=st.new_id("sub", 24),
        billing_cycle_anchor=trial_end or now,
        collection_method=p.get("collection_method") or "charge_automatically",
        created=now,
        start_date=now,
        currency=prices[0]["currency"],
        customer=customer["id"],
        days_until_due=to_int(p, "days_until_due"),
        description=p.get("description") or None,
        status="trialing" if trial_end else "incomplete",
        test_clock=customer["test_clock"],
        trial_end=trial_end,
        trial_start=now if trial_end else None,
        cancel_at_period_end=False,
        managed_payments={"enabled": False},
        automatic_tax={"enabled": False, "liability": None, "disabled_reason": None},
        cancellation_details={"comment": None, "feedback": None, "reason": None},
        billing_mode=billing_mode(p),
        schedule=schedule,
    )
    sub["payment_settings"] = dict.fromkeys(sub["payment_settings"])
    missing_pm = nested(nested(p, "trial_settings"), "end_behavior").get("missing_payment_method")
    sub["trial_settings"]["end_behavior"]["missing_payment_method"] = missing_pm or "create_invoice"
    end = trial_end or be.add_interval(
        now, prices[0]["recurring"]["interval"], prices[0]["recurring"]["interval_count"], now
    )
    items = [
        new_item(st, sub, price, s, i, (now, end))
        for i, (price, s) in enumerate(zip(prices, specs, strict=True))
    ]
    _check_intervals(items)
    url = f"/v1/subscription_items?subscription={sub['id']}"
    sub["items"] = {"object": "list", "data": items, "has_more": False, "url": url}
    sub["items"]["total_count"] = len(items)
    if p.get("default_payment_method"):
        sub["default_payment_method"] = default_pm(
            st, customer, p["default_payment_method"], "default_payment_method"
        )
    if behavior == "error_if_incomplete" and not trial_end:
        _require_chargeable(st, sub, customer)
    apply_metadata(sub, p)
    customer["currency"] = customer["currency"] or sub["currency"]
    st.put(sub)
    lines = be.licensed_lines(st, sub, now, end, trial=bool(trial_end))
    be.bill(st, sub, "subscription_create", lines, now, attempt=behavior != "default_incomplete")
    sub["cancel_at_period_end"] = bool(to_bool(p, "cancel_at_period_end", False))
    if sub["cancel_at_period_end"]:
        sub.update(cancel_at=end, canceled_at=now)
    st.emit("customer.subscription.created", sub)
    if trial_end and trial_end - st.config.trial_will_end_days * be.DAY <= now:
        st.internal_of(sub["id"])["trial_will_end"] = True
        st.emit("customer.subscription.trial_will_end", sub)
    return sub


def billing_mode(p: Params) -> Obj:
    """The `billing_mode` param as the object shows it; `flexible` is the default since
    API version 2025-10-29.clover (the SDK's params say so)."""
    spec = nested(p, "billing_mode")
    kind = spec.get("type") or "flexible"
    if kind not in ("classic", "flexible"):
        raise invalid(
            "billing_mode[type]", "Invalid billing_mode[type]: must be one of classic or flexible"
        )
    if kind == "classic":
        return {"type": "classic", "flexible": None}
    discounts = nested(spec, "flexible").get("proration_discounts") or "included"
    if discounts not in ("included", "itemized"):
        raise invalid("billing_mode[flexible][proration_discounts]")
    return {"type": "flexible", "flexible": {"proration_discounts": discounts}}


def _trial_end(p: Params, now: int) -> int | None:
    if p.get("trial_end") == "now":
        return None
    trial_end = to_int(p, "trial_end")
    days = to_int(p, "trial_period_days")
    if trial_end is not None and trial_end <= now:
        raise invalid(
            "trial_end", "Invalid timestamp: must be an integer Unix timestamp in the future."
        )
    return trial_end or (now + days * be.DAY if days else None)


def _require_chargeable(st: Store, sub: Obj, customer: Obj) -> None:
    pm = st.find(
        sub["default_payment_method"] or customer["invoice_settings"]["default_payment_method"],
        "payment_method",
    )
    card = payments.card_of(pm) if pm else None
    if card is None or card.charge_fails:
        raise card_error(*payments.decline(card.charge_fails or "" if card else "generic_decline"))


@route("POST", "/v1/subscriptions")
def create_subscription(st: Store, p: Params) -> Obj:
    return start_subscription(st, st.get(req(p, "customer"), "customer", "customer"), p)


@route("GET", "/v1/subscriptions/{id}")
def get_subscription(st: Store, p: Params, sid: str) -> Obj:
    return st.get(sid, "subscription")


@route("GET", "/v1/subscriptions")
def list_subscriptions(st: Store, p: Params) -> Obj:
    subs = st.all("subscription", **{k: p[k] for k in ("customer", "test_clock") if p.get(k)})
    status = p.get("status")
    if status != "all":
        subs = [s for s in subs if s["status"] == status or (not status and s["status"] in LIVE)]
    if p.get("price"):
        subs = [s for s in subs if any(i["price"]["id"] == p["price"] for i in s["items"]["data"])]
    return st.paginate(subs, p, "/v1/subscriptions")


def change_items(
    st: Store, sub: Obj, specs: list[Params], at: int, prorate: bool
) -> tuple[list[iv.Line], bool]:
    """Apply `items[]` changes to `sub` (stored or a preview copy). Returns the proration
    lines and whether the billing interval changed (which restarts the cycle)."""
    old_rec = sub["items"]["data"][0]["price"]["recurring"]
    lines: list[iv.Line] = []
    items = sub["items"]["data"]
    period = (items[0]["current_period_start"], items[0]["current_period_end"])
    for i, spec in enumerate(specs):
        item = next((it for it in items if it["id"] == spec.get("id")), None)
        if spec.get("id") and item is None:
            raise invalid(f"items[{i}][id]", f"No such subscription item: '{spec['id']}'")
        old = (item["price"], item["quantity"] or 1) if item else None
        old_key = (item["price"]["id"], item["quantity"]) if item else None
        if item and to_bool(spec, "deleted", False):
            items.remove(item)
            new = None
        else:
            if spec.get("price") or item is None:
                price = recurring_price(st, spec, f"items[{i}][price]")
            else:
                price = item["price"]
            if item is None:
                item = new_item(st, sub, price, spec, i, period)
                items.append(item)
            else:
                qty = to_int(spec, "quantity", item["quantity"], label=f"items[{i}][quantity]")
                item.update(price=copy.deepcopy(price), plan=plan_of(price), quantity=qty)
                apply_metadata(item, spec)
            new = (item["price"], item["quantity"] or 1)
        new_key = (item["price"]["id"], item["quantity"]) if new else None
        if prorate and old_key != new_key:
            lines += be.proration_lines(st, sub, item, old, new, at)
    if not items:
        raise invalid("items", "A subscription must have at least one item.")
    _check_intervals(items)
    new_rec = items[0]["price"]["recurring"]
    changed = (new_rec["interval"], new_rec["interval_count"]) != (
        old_rec["interval"],
        old_rec["interval_count"],
    )
    if changed:  # Stripe bills a new cycle right away: only the credit for unused time stays
        lines = [ln for ln in lines if ln.amount < 0]
    sub["items"]["total_count"] = len(items)
    return lines, changed


def apply_item_change(
    st: Store, sub: Obj, specs: list[Params], *, at: int, now: int, behavior: str
) -> iv.Decline | None:
    """Change items as an update does (also a schedule entering a phase mid-period):
    prorations become pending invoice items, `always_invoice` bills them now, and an
    interval change restarts the cycle and bills it now. Returns a payment decline."""
    customer = st.get(sub["customer"], "customer")
    lines, restarted = change_items(st, sub, specs, at, behavior != "none")
    for ln in lines:
        iv.add_invoiceitem(st, customer, ln, sub, now)
    if restarted and sub["status"] == "trialing":
        return None  # the trial goes on; its end starts the new price's first cycle
    if restarted:
        restart_cycle(sub, now)
        end = sub["items"]["data"][0]["current_period_end"]
        return be.bill(st, sub, "subscription_update", be.licensed_lines(st, sub, now, end), now)[1]
    if lines and behavior == "always_invoice":
        return be.bill(st, sub, "subscription_update", [], now)[1]
    return None


def check_proration_date(sub: Obj, p: Params, param: str) -> None:
    """Stripe prorates only within the current period: an explicit date outside it (a
    preview made before a renewal, sent after it) is refused, not silently unprorated."""
    if p.get("proration_date") in (None, ""):
        return
    at = to_int(p, "proration_date", label=param)
    item = sub["items"]["data"][0]
    if at is not None and not item["current_period_start"] <= at <= item["current_period_end"]:
        raise invalid(param, "Cannot specify proration date outside of current subscription period")


def restart_cycle(sub: Obj, at: int) -> None:
    sub["billing_cycle_anchor"] = at
    end = be.next_period_end(sub, at)
    for item in sub["items"]["data"]:
        item.update(current_period_start=at, current_period_end=end)


@route("POST", "/v1/subscriptions/{id}")
def update_subscription(st: Store, p: Params, sid: str) -> Obj:
    sub = st.get(sid, "subscription")
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise invalid(
            "subscription",
            "A canceled subscription can only update its cancellation_details and metadata.",
        )
    before = st.render(sub)
    now = st.now(sub["test_clock"])
    customer = st.get(sub["customer"], "customer")
    behavior = p.get("proration_behavior") or "create_prorations"
    at = to_int(p, "proration_date", now) or now
    check_proration_date(sub, p, "proration_date")
    apply_metadata(sub, p)
    set_fields(sub, p, "description")
    if "default_payment_method" in p:
        sub["default_payment_method"] = default_pm(
            st, customer, p["default_payment_method"], "default_payment_method"
        )
    _apply_cancel_at(sub, p, now)
    if as_list(p, "items"):
        failure = apply_item_change(st, sub, as_list(p, "items"), at=at, now=now, behavior=behavior)
        if failure and p.get("payment_behavior") == "error_if_incomplete":
            # Stripe leaves the subscription as it was and answers the decline.
            raise card_error(*failure)
    be.emit_sub_change(st, sub, before)
    if p.get("trial_end") == "now" and sub["status"] == "trialing":
        be.end_trial(st, sub, now)
    return sub


def _apply_cancel_at(sub: Obj, p: Params, now: int) -> None:
    flag = to_bool(p, "cancel_at_period_end")
    if flag is not None:
        end = sub["items"]["data"][0]["current_period_end"]
        sub.update(
            cancel_at_period_end=flag,
            cancel_at=end if flag else None,
            canceled_at=now if flag else None,
        )
        sub["cancellation_details"]["reason"] = "cancellation_requested" if flag else None
    if "cancel_at" in p:
        sub.update(cancel_at=to_int(p, "cancel_at"), cancel_at_period_end=False)


@route("DELETE", "/v1/subscriptions/{id}")
def cancel_subscription(st: Store, p: Params, sid: str) -> Obj:
    sub = st.get(sid, "subscription")
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise invalid("subscription", f"No such subscription: '{sid}' is already canceled.")
    be.cancel(st, sub, "cancellation_requested", st.now(sub["test_clock"]))
    st.internal_of(sid).pop("deleted_pending", None)
    st.emit("customer.subscription.deleted", sub)
    return sub


# --- subscription items (delegating to the subscription update) ----------------------------
def _item(st: Store, item_id: str) -> tuple[Obj, Obj]:
    for sub in st.all("subscription"):
        for item in sub["items"]["data"]:
            if item["id"] == item_id:
                return sub, item
    raise StripeError(
        404, f"No such subscription item: '{item_id}'", code="resource_missing", param="id"
    )


def _update_params(p: Params, spec: Params) -> Params:
    """Item endpoints act as a subscription update that touches just that item."""
    keep = ("proration_behavior", "proration_date", "payment_behavior")
    return {"items": [spec], **{k: p[k] for k in keep if k in p}}


@route("GET", "/v1/subscription_items")
def list_items(st: Store, p: Params) -> Obj:
    sub = st.get(req(p, "subscription"), "subscription", "subscription")
    return st.paginate(list(reversed(st.render(sub)["items"]["data"])), p, "/v1/subscription_items")


@route("GET", "/v1/subscription_items/{id}")
def get_item(st: Store, p: Params, item_id: str) -> Obj:
    return st.render(_item(st, item_id)[1])


@route("POST", "/v1/subscription_items")
def create_item(st: Store, p: Params) -> Obj:
    spec: Params = {k: p[k] for k in ("price", "quantity", "metadata") if k in p}
    sub = update_subscription(st, _update_params(p, spec), req(p, "subscription"))
    return st.render(sub["items"]["data"][-1])


@route("POST", "/v1/subscription_items/{id}")
def update_item(st: Store, p: Params, item_id: str) -> Obj:
    sub, _ = _item(st, item_id)
    spec: Params = {k: p[k] for k in ("price", "quantity", "metadata") if k in p}
    update_subscription(st, _update_params(p, {**spec, "id": item_id}), sub["id"])
    return st.render(_item(st, item_id)[1])


@route("DELETE", "/v1/subscription_items/{id}")
def delete_item(st: Store, p: Params, item_id: str) -> Obj:
    sub, _ = _item(st, item_id)
    update_subscription(st, _update_params(p, {"id": item_id, "deleted": "true"}), sub["id"])
    return {**shape("deleted_subscription_item"), "id": item_id}


@route("POST", "/v1/subscriptions/{id}/resume")
def resume_subscription(st: Store, p: Params, sid: str) -> Obj:
    """A subscription paused at trial end (no payment method) starts a billed cycle now."""

    sub = st.get(sid, "subscription")
    if sub["status"] != "paused":
        raise invalid("subscription", "Only a paused subscription can be resumed.")
    be.resume(st, sub, st.now(sub["test_clock"]))
    return sub
