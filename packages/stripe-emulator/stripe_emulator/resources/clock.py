"""Simulated time: advancing a test clock runs every billing step that falls due, in order."""

from __future__ import annotations

from collections.abc import Callable

from .. import billing_engine as be
from .. import payments
from ..billing_engine import cancel_scheduled, end_trial
from ..errors import invalid
from ..store import Obj, Store
from . import schedules

Action = Callable[[int], None]


def advance(st: Store, clock: Obj, target: int) -> Obj:
    if target <= clock["frozen_time"]:
        raise invalid("frozen_time", "The frozen_time must be after the clock's current time.")
    clock["status"] = "advancing"
    st.emit("test_helpers.test_clock.advancing", clock)
    for _ in range(10_000):  # a bound, in case some step failed to move its own deadline
        pending = [d for d in due(st, clock["id"]) if d[0] <= target]
        if not pending:
            break
        when, _, action = min(pending, key=lambda d: (d[0], d[1]))
        clock["frozen_time"] = max(clock["frozen_time"], when)
        action(clock["frozen_time"])
    clock.update(frozen_time=target, status="ready")
    st.emit("test_helpers.test_clock.ready", clock)
    return clock


def due(st: Store, clock_id: str) -> list[tuple[int, int, Action]]:
    """(time, tie-break order, action) for every step pending on the clock's customers."""
    steps: list[tuple[int, int, Action]] = []
    customers = {c["id"] for c in st.all("customer", test_clock=clock_id)}
    cfg = st.config
    for sub in st.all("subscription"):
        if sub["customer"] not in customers:
            continue
        flags = st.internal_of(sub["id"])
        end = sub["items"]["data"][0]["current_period_end"]
        start = sub["items"]["data"][0]["current_period_start"]

        def bind(fn: Callable[[Store, Obj, int], None], sub: Obj = sub) -> Action:
            return lambda t: fn(st, sub, t)

        if sub["status"] == "trialing":
            if not flags.get("trial_will_end"):
                steps.append(
                    (sub["trial_end"] - cfg.trial_will_end_days * be.DAY, 0, bind(trial_will_end))
                )
            steps.append((sub["trial_end"], 2, bind(end_trial)))
        elif sub["status"] in ("active", "past_due"):
            if renews_at(sub) is None:  # it ends within this period instead
                steps.append((sub["cancel_at"], 2, bind(cancel_scheduled)))
                continue
            upcoming = end - cfg.upcoming_days * be.DAY
            if (
                flags.get("upcoming_for") != end
                and upcoming > start
                and not schedules.cancels_at(st, sub, end)  # no invoice is coming then
            ):
                steps.append((upcoming, 1, bind(invoice_upcoming)))
            steps.append((end, 2, bind(renew)))
        elif sub["status"] == "incomplete":
            steps.append((sub["created"] + cfg.incomplete_expiry_seconds, 3, bind(expire)))
    for inv in st.all("invoice", status="open"):
        if inv["customer"] in customers and inv["next_payment_attempt"]:
            steps.append((inv["next_payment_attempt"], 4, _retry_action(st, inv)))
    return steps + _schedule_steps(st, customers)


def renews_at(sub: Obj) -> int | None:
    """When `renew` runs next: the period end of a live subscription not ending there."""
    end = int(sub["items"]["data"][0]["current_period_end"])
    if sub["status"] not in ("active", "past_due") or (
        sub["cancel_at"] and sub["cancel_at"] <= end
    ):
        return None
    return end


def _schedule_steps(st: Store, customers: set[str]) -> list[tuple[int, int, Action]]:
    """A schedule starting, or its phase ending; before a renewal due at the same time, and
    not at all when the phase ends with the period: `renew` then switches phases itself."""
    steps: list[tuple[int, int, Action]] = []
    for sched in st.all("subscription_schedule"):
        if sched["customer"] not in customers:
            continue

        def bind(fn: Callable[[Store, Obj, int], None], sched: Obj = sched) -> Action:
            return lambda t: fn(st, sched, t)

        if sched["status"] == "not_started":
            steps.append((sched["phases"][0]["start_date"], 1, bind(schedules.start_due)))
        elif sched["status"] == "active":
            end = sched["current_phase"]["end_date"]
            sub = st.find(sched["subscription"], "subscription")
            if sub is None or renews_at(sub) != end:
                steps.append((end, 1, bind(schedules.advance)))
    return steps


def _retry_action(st: Store, inv: Obj) -> Action:
    def run(t: int) -> None:
        be.retry(st, inv, t)

    return run


def trial_will_end(st: Store, sub: Obj, _t: int) -> None:
    st.internal_of(sub["id"])["trial_will_end"] = True
    st.emit("customer.subscription.trial_will_end", sub)


def invoice_upcoming(st: Store, sub: Obj, t: int) -> None:
    from .invoices import preview  # invoices import schedules, which this module uses too

    st.internal_of(sub["id"])["upcoming_for"] = sub["items"]["data"][0]["current_period_end"]
    st.emit("invoice.upcoming", preview(st, sub, {}, t))


def renew(st: Store, sub: Obj, t: int) -> None:
    """Period end: bill metered usage in arrears plus the next period in advance (with the
    items of the schedule phase starting now, if one does)."""
    before = st.render(sub)
    items = sub["items"]["data"]
    start, end = items[0]["current_period_start"], items[0]["current_period_end"]
    usage = be.usage_lines(st, sub, end)
    schedules.at_period_end(st, sub, end)
    if sub["status"] == "canceled":  # the schedule's last phase ended with end_behavior=cancel
        be.emit_sub_change(st, sub, before)
        return
    new_end = be.next_period_end(sub, end)
    for item in items:
        item.update(current_period_start=end, current_period_end=new_end)
    lines = usage + be.licensed_lines(st, sub, end, new_end)
    be.bill(st, sub, "subscription_cycle", lines, t, period=(start, end))
    be.emit_sub_change(st, sub, before)


def expire(st: Store, sub: Obj, t: int) -> None:
    """An incomplete subscription whose first payment never succeeded expires after 23h."""
    before = st.render(sub)
    sub.update(status="incomplete_expired", ended_at=t)
    inv = st.find(sub["latest_invoice"], "invoice")
    if inv and inv["status"] == "open":
        inv.update(status="void", amount_remaining=0, next_payment_attempt=None)
        inv["status_transitions"]["voided_at"] = t
        payments.cancel_invoice_payment(st, inv, t)
        st.emit("invoice.voided", inv)
    st.changed(sub, before, "customer.subscription.updated")
