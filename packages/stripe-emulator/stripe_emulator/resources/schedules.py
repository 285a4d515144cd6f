"""Subscription schedules: phases that change a subscription's items at set times.

A schedule adopts a running subscription (`from_subscription`) or creates one when its
first phase starts. Each phase lists the items the subscription has while it lasts; the
test clock moves the subscription from phase to phase (clock.py calls `advance`, or
`at_period_end` when a phase ends with the billing period) and, after the last phase, the
schedule releases the subscription (it keeps running as it is) or cancels it, per
`end_behavior`. Phases are stored back to back: each starts where the previous one ends.
"""

from __future__ import annotations

import copy
from typing import Any

from .. import billing_engine as be
from .. import invoicing as iv
from ..errors import StripeError, invalid, missing
from ..fixtures import build, shape
from ..params import Params, apply_metadata, as_list, nested, req, to_bool, to_int
from ..routing import route
from ..store import Obj, Store
from .subscriptions import (
    apply_item_change,
    billing_mode,
    change_items,
    recurring_price,
    start_subscription,
)

OPEN = ("not_started", "active")  # a schedule in these statuses still manages something
ENDED = ("canceled", "incomplete_expired")  # subscription statuses there is no way back from
_PRORATIONS = ("always_invoice", "create_prorations", "none")
_INTERVALS = ("day", "week", "month", "year")


# --- phases --------------------------------------------------------------------------------


def _timestamp(value: Any, param: str, now: int) -> int:
    if value == "now":
        return now
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(param, f"Invalid timestamp: {value}") from None


def _not_past(value: Any, param: str, now: int) -> int:
    """`now` or a future time: the emulator does not backdate (Stripe would bill the past)."""
    at = now if value in (None, "") else _timestamp(value, param, now)
    if at < now:
        raise invalid(
            param,
            "The emulator cannot backdate a subscription schedule: use `now` or a future time.",
        )
    return at


def _phase_item(price: Obj, spec: Params, param: str) -> Obj:
    metered = price["recurring"]["usage_type"] == "metered"
    if metered and spec.get("quantity") not in (None, ""):
        raise invalid(f"{param}[quantity]", "Quantity cannot be set for metered prices.")
    quantity = None if metered else to_int(spec, "quantity", 1, label=f"{param}[quantity]")
    if quantity is not None and quantity < 0:
        raise invalid(f"{param}[quantity]", "This value must be greater than or equal to 0.")
    item: Obj = shape("subscription_schedule")["phases"][0]["items"][0]
    item.update(
        billing_thresholds=None,
        discounts=[],
        metadata={},
        plan=price["id"],  # the legacy expandable `plan` is the price's id
        price=price["id"],
        quantity=quantity,
        tax_rates=[],
    )
    apply_metadata(item, spec)
    return item


def _phase_items(st: Store, spec: Params, i: int) -> tuple[list[Obj], list[Obj]]:
    """The phase's items and their prices, checked as a subscription's items are."""
    specs = as_list(spec, "items")
    if not specs:
        raise missing(f"phases[{i}][items]")
    items: list[Obj] = []
    prices: list[Obj] = []
    for j, it in enumerate(specs):
        param = f"phases[{i}][items][{j}]"
        it = it if isinstance(it, dict) else {}
        price = recurring_price(st, {"price": it.get("price") or it.get("plan")}, f"{param}[price]")
        if price["id"] in (p["id"] for p in prices):
            raise invalid(f"{param}[price]", "A phase cannot list the same price twice.")
        prices.append(price)
        items.append(_phase_item(price, it, param))
    if len({(p["recurring"]["interval"], p["recurring"]["interval_count"]) for p in prices}) > 1:
        raise invalid(
            f"phases[{i}][items]",
            "All prices on a subscription must have the same "
            "`recurring.interval` and `recurring.interval_count`.",
        )
    if len({p["currency"] for p in prices}) > 1:
        raise invalid(f"phases[{i}][items]", "All prices in a phase must share one currency.")
    return items, prices


def _phase_end(spec: Params, start: int, rec: Obj, i: int, now: int) -> int:
    """`end_date`, or `start` + `duration`; without either Stripe makes the phase one
    billing period of its prices long (every phase has an end: `end_date` is not nullable)."""
    param = f"phases[{i}]"
    duration = nested(spec, "duration")
    if spec.get("end_date") not in (None, ""):
        if duration:
            raise invalid(
                f"{param}[duration]",
                "You may only specify one of these parameters: duration, end_date.",
            )
        end = _timestamp(spec["end_date"], f"{param}[end_date]", now)
    elif duration:
        interval = duration.get("interval")
        count = to_int(duration, "interval_count", 1, label=f"{param}[duration][interval_count]")
        if interval not in _INTERVALS:
            raise invalid(f"{param}[duration][interval]")
        if count is None or count < 1:
            raise invalid(f"{param}[duration][interval_count]", "Must be at least 1.")
        end = be.add_interval(start, interval, count, start)
    else:
        end = be.add_interval(start, rec["interval"], rec["interval_count"], start)
    if end <= start:
        raise invalid(f"{param}[end_date]", "The end_date of a phase must be after its start_date.")
    return end


def _phase(spec: Params, items: list[Obj], prices: list[Obj], span: tuple[int, int], i: int) -> Obj:
    behavior = spec.get("proration_behavior") or "create_prorations"
    if behavior not in _PRORATIONS:
        raise invalid(f"phases[{i}][proration_behavior]")
    phase: Obj = shape("subscription_schedule")["phases"][0]
    phase.update(
        add_invoice_items=[],
        application_fee_percent=None,
        billing_cycle_anchor=None,
        billing_thresholds=None,
        collection_method=None,
        currency=prices[0]["currency"],
        default_payment_method=None,
        default_tax_rates=[],
        description=spec.get("description") or None,
        discounts=[],
        end_date=span[1],
        invoice_settings=None,
        items=items,
        metadata={},
        on_behalf_of=None,
        proration_behavior=behavior,
        start_date=span[0],
        transfer_data=None,
        trial_end=None,
    )
    apply_metadata(phase, spec)
    return phase


def build_phases(st: Store, specs: list[Params], start: int, now: int) -> list[Obj]:
    """Phases back to back from `start`: each one starts where the previous one ends."""
    phases: list[Obj] = []
    at = start
    for i, spec in enumerate(specs):
        given = spec.get("start_date")
        param = f"phases[{i}][start_date]"
        if i and given not in (None, "") and _timestamp(given, param, now) != at:
            raise invalid(
                param, "The start_date of a phase must be the end_date of the phase before it."
            )
        items, prices = _phase_items(st, spec, i)
        end = _phase_end(spec, at, prices[0]["recurring"], i, now)
        phases.append(_phase(spec, items, prices, (at, end), i))
        at = end
    return phases


def _phase_specs(p: Params) -> list[Params]:
    specs = as_list(p, "phases")
    if not specs:
        raise missing("phases")
    for i, spec in enumerate(specs):
        if not isinstance(spec, dict):
            raise invalid(f"phases[{i}]")
    return specs


def _span(phase: Obj) -> Obj:
    return {"end_date": phase["end_date"], "start_date": phase["start_date"]}


def _current_index(sched: Obj) -> int:
    start = sched["current_phase"]["start_date"]
    return next((i for i, ph in enumerate(sched["phases"]) if ph["start_date"] == start), 0)


# --- the schedule object -------------------------------------------------------------------


def _end_behavior(p: Params) -> str:
    value = p.get("end_behavior") or "release"
    if value not in ("release", "cancel"):
        raise invalid("end_behavior", "The emulator supports end_behavior `release` or `cancel`.")
    return str(value)


def _new_schedule(st: Store, customer: Obj, p: Params, now: int, mode: Obj) -> Obj:
    sched = build(
        "subscription_schedule",
        nulls="application canceled_at completed_at current_phase customer_account "
        "released_at released_subscription subscription",
        id=st.new_id("sub_sched", 24),
        billing_mode=mode,
        created=now,
        customer=customer["id"],
        end_behavior=_end_behavior(p),
        phases=[],
        status="not_started",
        test_clock=customer["test_clock"],
    )
    settings = sched["default_settings"]
    settings.update(
        application_fee_percent=None,
        billing_cycle_anchor="automatic",
        billing_thresholds=None,
        collection_method="charge_automatically",
        default_payment_method=None,
        description=None,
        on_behalf_of=None,
        transfer_data=None,
    )
    settings["automatic_tax"] = {"disabled_reason": None, "enabled": False, "liability": None}
    settings["invoice_settings"] = {
        **dict.fromkeys(settings["invoice_settings"]),
        "issuer": {"type": "self"},
    }
    apply_metadata(sched, p)
    return sched


def _open_schedule(st: Store, sid: str, action: str) -> Obj:
    sched = st.get(sid, "subscription_schedule")
    if sched["status"] not in OPEN:
        raise StripeError(
            400,
            f"You cannot {action} a subscription schedule that is currently in the "
            f"`{sched['status']}` status. It must be in `not_started` or `active`.",
        )
    return sched


def _release(sched: Obj, sub: Obj | None, at: int) -> None:
    sched.update(
        status="released",
        released_at=at,
        released_subscription=sub["id"] if sub else None,
        subscription=None,
        current_phase=None,
    )
    if sub:
        sub["schedule"] = None


# --- moving through phases -----------------------------------------------------------------


def _item_specs(sub: Obj, phase: Obj) -> list[Params]:
    """`items[]` of a subscription update leaving exactly the phase's items; an item whose
    price stays keeps its id (only its quantity may change)."""
    current = {it["price"]["id"]: it for it in sub["items"]["data"]}
    specs: list[Params] = []
    for it in phase["items"]:
        kept = current.pop(it["price"], None)
        spec: Params = {"id": kept["id"]} if kept else {"price": it["price"]}
        if it["quantity"] is not None:
            spec["quantity"] = it["quantity"]
        if it["metadata"]:
            spec["metadata"] = it["metadata"]
        specs.append(spec)
    return specs + [{"id": old["id"], "deleted": "true"} for old in current.values()]


def _differs(sub: Obj, phase: Obj) -> bool:
    have = {it["price"]["id"]: it["quantity"] for it in sub["items"]["data"]}
    return have != {it["price"]: it["quantity"] for it in phase["items"]}


def _switch(st: Store, sub: Obj, phase: Obj, t: int, *, quiet: bool) -> None:
    """Give `sub` the phase's items. Quiet at a period end (the renewal then bills the new
    items for the new period) or when nothing is being billed (trial, paused); otherwise as
    an update does, with the phase's proration_behavior."""
    specs = _item_specs(sub, phase)
    if quiet:
        _, new_cycle = change_items(st, sub, specs, t, False)
        if new_cycle:  # Stripe restarts the billing cycle when the interval changes
            sub["billing_cycle_anchor"] = t
    else:
        apply_item_change(st, sub, specs, at=t, now=t, behavior=phase["proration_behavior"])
    if phase["metadata"]:
        apply_metadata(sub, {"metadata": phase["metadata"]})


def _next_phase(st: Store, sched: Obj, sub: Obj, t: int, *, quiet: bool) -> None:
    i = _current_index(sched)
    if i + 1 == len(sched["phases"]):
        _finish(st, sched, sub, t)
        return
    before = st.render(sched)
    phase = sched["phases"][i + 1]
    _switch(st, sub, phase, t, quiet=quiet)
    sched["current_phase"] = _span(phase)
    st.changed(sched, before, "subscription_schedule.updated")


def _finish(st: Store, sched: Obj, sub: Obj, t: int) -> None:
    """After the last phase: `release` leaves the subscription running as it is, `cancel`
    ends it (the schedule is then `completed`)."""
    if sched["end_behavior"] == "cancel":
        sched.update(status="completed", completed_at=t, current_phase=None)
        be.cancel(st, sub, "cancellation_requested", t)
        st.emit("subscription_schedule.completed", sched)
    else:
        _release(sched, sub, t)
        st.emit("subscription_schedule.released", sched)


def start_schedule(st: Store, sched: Obj, t: int) -> None:
    """The first phase starts: the schedule creates its subscription (and first invoice)."""
    customer = st.get(sched["customer"], "customer")
    phase = sched["phases"][0]
    items = [
        {
            "price": it["price"],
            **({"quantity": it["quantity"]} if it["quantity"] is not None else {}),
        }
        for it in phase["items"]
    ]
    params = {"items": items, "metadata": phase["metadata"], "billing_mode": sched["billing_mode"]}
    sub = start_subscription(st, customer, params, schedule=sched["id"])
    sched.update(status="active", subscription=sub["id"], current_phase=_span(phase))


def start_due(st: Store, sched: Obj, t: int) -> None:
    """Clock step: a schedule created for a future start reaches it."""
    before = st.render(sched)
    start_schedule(st, sched, t)
    st.changed(sched, before, "subscription_schedule.updated")


def advance(st: Store, sched: Obj, t: int) -> None:
    """Clock step: the current phase ends when no renewal does (see `at_period_end`)."""
    sub = st.get(sched["subscription"], "subscription")
    if sub["status"] in ENDED:  # e.g. an incomplete subscription that expired
        sched.update(status="canceled", canceled_at=t, current_phase=None)
        st.emit("subscription_schedule.canceled", sched)
        return
    before = st.render(sub)
    live = sub["status"] in ("active", "past_due")
    period_end = sub["items"]["data"][0]["current_period_end"]
    _next_phase(st, sched, sub, t, quiet=not live or t >= period_end)
    be.emit_sub_change(st, sub, before)


def _ending_at(st: Store, sub: Obj, t: int) -> Obj | None:
    """The subscription's running schedule if its current phase ends at `t`."""
    sched = st.find(sub.get("schedule"), "subscription_schedule")
    if sched and sched["status"] == "active" and sched["current_phase"]["end_date"] == t:
        return sched
    return None


def at_period_end(st: Store, sub: Obj, t: int) -> None:
    """Called by the renewal at `t` before it bills: a phase ending there hands over now,
    so the renewal invoice bills the next phase's items (usage was measured before)."""
    sched = _ending_at(st, sub, t)
    if sched:
        _next_phase(st, sched, sub, t, quiet=True)


def cancels_at(st: Store, sub: Obj, t: int) -> bool:
    """Whether the schedule ends the subscription at `t` (no renewal, no upcoming invoice)."""
    sched = _ending_at(st, sub, t)
    if sched is None:
        return False
    return sched["end_behavior"] == "cancel" and _current_index(sched) + 1 == len(sched["phases"])


def preview_period_end(st: Store, sim: Obj, t: int) -> None:
    """On a copy of the subscription (an invoice preview): the items the schedule gives it
    at `t`, no events."""
    sched = _ending_at(st, sim, t)
    following = sched["phases"][_current_index(sched) + 1 :] if sched else []
    if following:
        _switch(st, sim, following[0], t, quiet=True)


# --- routes --------------------------------------------------------------------------------


@route("POST", "/v1/subscription_schedules")
def create_schedule(st: Store, p: Params) -> Obj:
    if p.get("from_subscription"):
        return _adopt(st, p)
    customer = st.get(req(p, "customer"), "customer", "customer")
    now = st.now(customer["test_clock"])
    start = _not_past(p.get("start_date"), "start_date", now)
    sched = _new_schedule(st, customer, p, now, billing_mode(p))
    sched["phases"] = build_phases(st, _phase_specs(p), start, now)
    st.put(sched)
    if start <= now:
        start_schedule(st, sched, now)
    st.emit("subscription_schedule.created", sched)
    return sched


def _adopt(st: Store, p: Params) -> Obj:
    """`from_subscription`: one phase, the subscription's items until its period ends."""
    for name in ("customer", "phases", "start_date", "end_behavior", "default_settings"):
        if name in p:
            raise invalid(name, f"You cannot set `{name}` if `from_subscription` is set.")
    sub = st.get(p["from_subscription"], "subscription", "from_subscription")
    if sub["status"] in ENDED:
        raise invalid("from_subscription", "A canceled subscription cannot get a schedule.")
    if sub["schedule"]:
        raise invalid(
            "from_subscription",
            f"The subscription `{sub['id']}` is already attached to a schedule: "
            f"`{sub['schedule']}`.",
        )
    customer = st.get(sub["customer"], "customer")
    now = st.now(customer["test_clock"])
    sched = _new_schedule(st, customer, p, now, copy.deepcopy(sub["billing_mode"]))
    first = sub["items"]["data"][0]
    span = (first["current_period_start"], first["current_period_end"])
    items = [
        _phase_item(it["price"], {"quantity": it["quantity"]}, f"items[{i}]")
        for i, it in enumerate(sub["items"]["data"])
    ]
    phase = _phase({}, items, [first["price"]], span, 0)
    phase["trial_end"] = sub["trial_end"] if sub["status"] == "trialing" else None
    before = st.render(sub)
    sched.update(
        status="active", subscription=sub["id"], phases=[phase], current_phase=_span(phase)
    )
    sub["schedule"] = sched["id"]
    st.put(sched)
    st.emit("subscription_schedule.created", sched)
    st.changed(sub, before, "customer.subscription.updated")
    return sched


@route("POST", "/v1/subscription_schedules/{id}")
def update_schedule(st: Store, p: Params, sid: str) -> Obj:
    sched = _open_schedule(st, sid, "update")
    before = st.render(sched)
    now = st.customer_now(sched["customer"])
    if "end_behavior" in p:
        sched["end_behavior"] = _end_behavior(p)
    apply_metadata(sched, p)
    if "phases" in p:
        behavior = p.get("proration_behavior") or "create_prorations"
        if behavior not in _PRORATIONS:
            raise invalid("proration_behavior")
        if sched["status"] == "active":
            _replan_running(st, sched, _phase_specs(p), now, behavior)
        else:
            _replan_pending(st, sched, _phase_specs(p), now)
    st.changed(sched, before, "subscription_schedule.updated")
    return sched


def _replan_running(st: Store, sched: Obj, specs: list[Params], now: int, behavior: str) -> None:
    """New phases for a running schedule: past phases may be left out (or repeated), the
    current one keeps its start; a change to its items applies to the subscription now."""
    sub = st.get(sched["subscription"], "subscription")
    current = sched["current_phase"]["start_date"]
    given = specs[0].get("start_date")
    start = current if given in (None, "") else _timestamp(given, "phases[0][start_date]", now)
    phases = build_phases(st, specs, start, now)
    phases = [ph for ph in phases if ph["end_date"] > current]
    if not phases or phases[0]["start_date"] != current:
        raise invalid(
            "phases[0][start_date]", "You can not modify the start date of the current phase."
        )
    if phases[0]["end_date"] <= now:
        raise invalid("phases[0][end_date]", "The current phase must end in the future.")
    sched.update(phases=phases, current_phase=_span(phases[0]))
    if _differs(sub, phases[0]):
        before = st.render(sub)
        specs = _item_specs(sub, phases[0])
        apply_item_change(st, sub, specs, at=now, now=now, behavior=behavior)
        be.emit_sub_change(st, sub, before)


def _replan_pending(st: Store, sched: Obj, specs: list[Params], now: int) -> None:
    given = specs[0].get("start_date")
    start = (
        sched["phases"][0]["start_date"]
        if given in (None, "")
        else _not_past(given, "phases[0][start_date]", now)
    )
    sched["phases"] = build_phases(st, specs, start, now)
    if start <= now:
        start_schedule(st, sched, now)


@route("GET", "/v1/subscription_schedules/{id}")
def get_schedule(st: Store, p: Params, sid: str) -> Obj:
    return st.get(sid, "subscription_schedule")


def _in_range(value: int | None, cond: Any, field: str) -> bool:
    """A list filter on a timestamp: an exact value or {gt, gte, lt, lte}."""
    if value is None:
        return False
    ops = {"gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}
    conds = cond.items() if isinstance(cond, dict) else [("eq", cond)]
    try:
        return all(ops.get(op, int.__eq__)(value, int(v)) for op, v in conds)
    except (TypeError, ValueError):
        raise invalid(field, f"Invalid timestamp filter: {cond}") from None


@route("GET", "/v1/subscription_schedules")
def list_schedules(st: Store, p: Params) -> Obj:
    scheds = st.all(
        "subscription_schedule", **({"customer": p["customer"]} if p.get("customer") else {})
    )
    if to_bool(p, "scheduled"):
        scheds = [s for s in scheds if s["status"] == "not_started"]
    for field in ("canceled_at", "completed_at", "created", "released_at"):
        if p.get(field) not in (None, ""):
            scheds = [s for s in scheds if _in_range(s[field], p[field], field)]
    return st.paginate(scheds, p, "/v1/subscription_schedules")


@route("POST", "/v1/subscription_schedules/{id}/release")
def release_schedule(st: Store, p: Params, sid: str) -> Obj:
    """The subscription keeps running as it is, no longer managed."""
    sched = _open_schedule(st, sid, "release")
    sub = st.find(sched["subscription"], "subscription")
    before = st.render(sub) if sub else {}
    _release(sched, sub, st.customer_now(sched["customer"]))
    st.emit("subscription_schedule.released", sched)
    if sub:
        st.changed(sub, before, "customer.subscription.updated")
    return sched


@route("POST", "/v1/subscription_schedules/{id}/cancel")
def cancel_schedule(st: Store, p: Params, sid: str) -> Obj:
    """Cancels the subscription too (which cancels the schedule, see be.cancel)."""
    sched = _open_schedule(st, sid, "cancel")
    now = st.customer_now(sched["customer"])
    sub = st.find(sched["subscription"], "subscription")
    if sub is None or sub["status"] in ENDED:
        sched.update(status="canceled", canceled_at=now, current_phase=None)
        st.emit("subscription_schedule.canceled", sched)
        return sched
    before = st.render(sub)
    prorate, invoice_now = to_bool(p, "prorate", True), to_bool(p, "invoice_now", True)
    _final_invoice(st, sub, now, prorate=bool(prorate), invoice_now=bool(invoice_now))
    be.cancel(st, sub, "cancellation_requested", now)
    be.emit_sub_change(st, sub, before)
    return sched


def _final_invoice(st: Store, sub: Obj, now: int, *, prorate: bool, invoice_now: bool) -> None:
    """Canceling a running schedule (Stripe's defaults: prorate, invoice now) credits the
    unused time and bills metered usage and pending items on one last invoice."""
    customer = st.get(sub["customer"], "customer")
    if prorate:
        for item in sub["items"]["data"]:
            old = (item["price"], item["quantity"] or 1)
            for ln in be.proration_lines(st, sub, item, old, None, now):
                iv.add_invoiceitem(st, customer, ln, sub, now)
    usage = be.usage_lines(st, sub, now)
    if invoice_now and (any(ln.amount for ln in usage) or be.pending_lines(st, sub, None)):
        be.bill(st, sub, "subscription_update", usage, now)
