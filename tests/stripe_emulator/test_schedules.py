"""Subscription schedules on test clocks: phases switch a subscription's items at their
boundaries, then the schedule releases or cancels it. Amounts are checked to the cent."""

# The SDK types expandable and optional fields as unions; these tests know what they hold.
# mypy: disable-error-code="union-attr"

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import stripe

from tests.support.emulator import REFERENCE, missing_keys, raw, refused

DAY = 86400


def at(year: int, month: int, day: int) -> int:
    """A billing date of these tests: the clock starts on 2023-11-14 at 22:13:20 UTC."""
    return int(datetime(year, month, day, 22, 13, 20, tzinfo=UTC).timestamp())


T0 = at(2023, 11, 14)
DEC, JAN, FEB = at(2023, 12, 14), at(2024, 1, 14), at(2024, 2, 14)  # the monthly renewals


@pytest.fixture
def client(stripe_client: stripe.StripeClient) -> stripe.StripeClient:
    return stripe_client


@pytest.fixture
def prices(client: stripe.StripeClient) -> dict[str, str]:
    product = client.v1.products.create({"name": "SaaS"})

    def price(amount: int, interval: str = "month") -> str:
        return client.v1.prices.create(
            {
                "product": product.id,
                "currency": "usd",
                "unit_amount": amount,
                "recurring": {"interval": interval},
            }
        ).id

    return {"pro": price(2900), "starter": price(900), "pro_yearly": price(29000, "year")}


class Clocked:
    """A customer with a card on a test clock frozen at T0."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client
        self.clock = client.v1.test_helpers.test_clocks.create({"frozen_time": T0}).id
        self.customer = client.v1.customers.create(
            {"email": "s@example.com", "test_clock": self.clock}
        ).id
        pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": self.customer})
        client.v1.customers.update(
            self.customer, {"invoice_settings": {"default_payment_method": pm.id}}
        )

    def subscribe(self, price: str) -> Any:
        return self.client.v1.subscriptions.create(
            {"customer": self.customer, "items": [{"price": price, "quantity": 1}]}
        )

    def advance(self, to: int) -> None:
        clock = self.client.v1.test_helpers.test_clocks.advance(self.clock, {"frozen_time": to})
        assert clock.status == "ready"

    def invoices(self) -> list[Any]:
        """Newest first."""
        return list(self.client.v1.invoices.list({"customer": self.customer, "limit": 100}))

    def sub(self, sub_id: str) -> Any:
        return self.client.v1.subscriptions.retrieve(sub_id)


@pytest.fixture
def cus(client: stripe.StripeClient) -> Clocked:
    return Clocked(client)


def events(client: stripe.StripeClient, type_: str) -> list[Any]:
    return list(client.v1.events.list({"type": type_, "limit": 100}))


def price_of(sub: Any) -> str:
    return str(sub["items"].data[0].price.id)


def downgrade_at_period_end(client: stripe.StripeClient, sub: Any, new_price: str) -> Any:
    """The usual way to schedule a change for the period end: adopt, then add a phase."""
    sched = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    current = sched.phases[0]
    return client.v1.subscription_schedules.update(
        sched.id,
        {
            "phases": [
                {
                    "items": [{"price": current["items"][0].price, "quantity": 1}],
                    "start_date": current.start_date,
                    "end_date": current.end_date,
                },
                {"items": [{"price": new_price, "quantity": 1}]},
            ],
            "end_behavior": "release",
        },
    )


def test_from_subscription_adopts_the_current_period(
    client: stripe.StripeClient, cus: Clocked, prices: dict[str, str]
) -> None:
    sub = cus.subscribe(prices["pro"])
    sched = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    assert (sched.status, sched.end_behavior, sched.subscription) == ("active", "release", sub.id)
    assert (sched.customer, sched.test_clock) == (cus.customer, cus.clock)
    assert [(ph.start_date, ph.end_date) for ph in sched.phases] == [(T0, DEC)]
    assert [(i.price, i.quantity) for i in sched.phases[0]["items"]] == [(prices["pro"], 1)]
    assert (sched.current_phase.start_date, sched.current_phase.end_date) == (T0, DEC)
    assert cus.sub(sub.id).schedule == sched.id
    assert [e.data.object.id for e in events(client, "subscription_schedule.created")] == [sched.id]
    listed = client.v1.subscription_schedules.list({"customer": cus.customer})
    assert [s.id for s in listed] == [sched.id]
    assert list(client.v1.subscription_schedules.list({"scheduled": True})) == []
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.subscription_schedules.create({"from_subscription": sub.id})
    assert err.value.param == "from_subscription"


def test_billing_mode_is_kept_and_a_schedule_takes_its_subscriptions(
    client: stripe.StripeClient, cus: Clocked, prices: dict[str, str]
) -> None:
    flexible = cus.subscribe(prices["pro"])  # the default at this API version
    assert (flexible.billing_mode.type, flexible.billing_mode.flexible.proration_discounts) == (
        "flexible",
        "included",
    )
    classic = client.v1.subscriptions.create(
        {
            "customer": cus.customer,
            "items": [{"price": prices["starter"], "quantity": 1}],
            "billing_mode": {"type": "classic"},
        }
    )
    assert (classic.billing_mode.type, classic.billing_mode.flexible) == ("classic", None)
    sched = client.v1.subscription_schedules.create({"from_subscription": classic.id})
    assert sched.billing_mode.type == "classic"


def test_downgrade_at_period_end_bills_the_new_price_from_the_boundary(
    client: stripe.StripeClient, cus: Clocked, prices: dict[str, str]
) -> None:
    sub = cus.subscribe(prices["pro"])
    sched = downgrade_at_period_end(client, sub, prices["starter"])
    # The second phase lasts one billing period of its price: Dec 14 -> Jan 14.
    assert [(ph.start_date, ph.end_date) for ph in sched.phases] == [(T0, DEC), (DEC, JAN)]
    assert [i.amount_due for i in cus.invoices()] == [2900]  # nothing billed at the change
    assert list(client.v1.invoice_items.list({"customer": cus.customer})) == []

    cus.advance(DEC - 1)
    assert price_of(cus.sub(sub.id)) == prices["pro"]
    upcoming = events(client, "invoice.upcoming")  # sent 7 days ahead, with the new price
    assert [e.data.object.amount_due for e in upcoming] == [900]

    cus.advance(DEC)  # the boundary: the renewal bills the starter price for the new period
    current = cus.sub(sub.id)
    assert price_of(current) == prices["starter"]
    item = current["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (DEC, JAN)
    renewal = cus.invoices()[0]
    assert (renewal.billing_reason, renewal.status, renewal.amount_paid) == (
        "subscription_cycle",
        "paid",
        900,
    )
    assert [(ln.amount, ln.period.start, ln.period.end) for ln in renewal.lines.data] == [
        (900, DEC, JAN)
    ]
    sched = client.v1.subscription_schedules.retrieve(sched.id)
    assert (sched.status, sched.current_phase.start_date) == ("active", DEC)
    updated = [e.data.object for e in events(client, "customer.subscription.updated")]
    assert any(price_of(s) == prices["starter"] for s in updated)
    assert sched.id in [e.data.object.id for e in events(client, "subscription_schedule.updated")]

    cus.advance(JAN)  # the last phase ends: released, the subscription goes on as it is
    sched = client.v1.subscription_schedules.retrieve(sched.id)
    assert (sched.status, sched.released_at, sched.released_subscription) == (
        "released",
        JAN,
        sub.id,
    )
    assert (sched.subscription, sched.current_phase) == (None, None)
    assert cus.sub(sub.id).schedule is None
    assert [e.data.object.id for e in events(client, "subscription_schedule.released")] == [
        sched.id
    ]
    cus.advance(FEB)
    assert [i.amount_due for i in cus.invoices()] == [900, 900, 900, 2900]
    assert (cus.sub(sub.id).status, price_of(cus.sub(sub.id))) == ("active", prices["starter"])


def test_release_keeps_the_price_the_subscription_has(
    client: stripe.StripeClient, cus: Clocked, prices: dict[str, str]
) -> None:
    sub = cus.subscribe(prices["pro"])
    sched = downgrade_at_period_end(client, sub, prices["starter"])
    cus.advance(T0 + 5 * DAY)
    released = client.v1.subscription_schedules.release(sched.id)
    assert (released.status, released.released_at) == ("released", T0 + 5 * DAY)
    assert (released.released_subscription, released.subscription) == (sub.id, None)
    assert cus.sub(sub.id).schedule is None
    cus.advance(DEC)
    assert price_of(cus.sub(sub.id)) == prices["pro"]
    assert [i.amount_due for i in cus.invoices()] == [2900, 2900]
    refused(lambda: client.v1.subscription_schedules.release(sched.id))


def test_cancel_ends_the_subscription_with_a_credit_for_unused_time(
    client: stripe.StripeClient, cus: Clocked, prices: dict[str, str]
) -> None:
    sub = cus.subscribe(prices["pro"])
    sched = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    now = T0 + 10 * DAY
    cus.advance(now)
    canceled = client.v1.subscription_schedules.cancel(sched.id)
    assert (canceled.status, canceled.canceled_at) == ("canceled", now)
    assert (cus.sub(sub.id).status, cus.sub(sub.id).ended_at) == ("canceled", now)
    # Stripe's defaults (prorate, invoice_now): the unused 20 of 30 days come back as credit.
    credit = -round(2900 * 1 * (DEC - now) / (DEC - T0))
    final = cus.invoices()[0]
    assert (final.total, final.amount_due, credit) == (credit, 0, -1933)
    assert client.v1.customers.retrieve(cus.customer).balance == credit
    assert "customer.subscription.deleted" in [e.type for e in client.v1.events.list()]
    assert [e.data.object.id for e in events(client, "subscription_schedule.canceled")] == [
        sched.id
    ]


def test_deleting_the_subscription_cancels_its_schedule(
    client: stripe.StripeClient, cus: Clocked, prices: dict[str, str]
) -> None:
    sub = cus.subscribe(prices["pro"])
    sched = downgrade_at_period_end(client, sub, prices["starter"])
    client.v1.subscriptions.cancel(sub.id)
    assert client.v1.subscription_schedules.retrieve(sched.id).status == "canceled"
    assert [i.amount_due for i in cus.invoices()] == [2900]  # a plain cancel bills nothing
    cus.advance(FEB)  # the canceled schedule switches nothing
    assert price_of(cus.sub(sub.id)) == prices["pro"]


def test_monthly_to_yearly_at_the_boundary_bills_a_year(
    client: stripe.StripeClient, cus: Clocked, prices: dict[str, str]
) -> None:
    sub = cus.subscribe(prices["pro"])
    sched = downgrade_at_period_end(client, sub, prices["pro_yearly"])
    next_dec = at(2024, 12, 14)
    assert sched.phases[1].end_date == next_dec  # one billing period of the yearly price
    cus.advance(DEC)
    current = cus.sub(sub.id)
    item = current["items"].data[0]
    assert (item.price.id, item.current_period_start, item.current_period_end) == (
        prices["pro_yearly"],
        DEC,
        next_dec,
    )
    assert next_dec - DEC == 366 * DAY  # 2024 is a leap year
    assert current.billing_cycle_anchor == DEC
    assert [i.amount_due for i in cus.invoices()] == [29000, 2900]
    cus.advance(next_dec)
    assert client.v1.subscription_schedules.retrieve(sched.id).status == "released"
    assert [i.amount_due for i in cus.invoices()] == [29000, 29000, 2900]


def test_a_schedule_can_create_the_subscription_and_cancel_it_at_the_end(
    client: stripe.StripeClient, cus: Clocked, prices: dict[str, str]
) -> None:
    sched = client.v1.subscription_schedules.create(
        {
            "customer": cus.customer,
            "start_date": "now",
            "end_behavior": "cancel",
            "phases": [
                {
                    "items": [{"price": prices["starter"], "quantity": 1}],
                    "duration": {"interval": "month", "interval_count": 2},
                },
                {"items": [{"price": prices["pro"], "quantity": 1}]},
            ],
        }
    )
    assert [(ph.start_date, ph.end_date) for ph in sched.phases] == [(T0, JAN), (JAN, FEB)]
    assert sched.status == "active"
    sub = cus.sub(str(sched.subscription))
    assert (sub.schedule, sub.status, price_of(sub)) == (sched.id, "active", prices["starter"])
    assert [i.amount_due for i in cus.invoices()] == [900]
    cus.advance(DEC)  # still the first phase
    cus.advance(JAN)  # the second phase: pro from Jan 14
    assert price_of(cus.sub(sub.id)) == prices["pro"]
    assert [i.amount_due for i in cus.invoices()] == [2900, 900, 900]
    cus.advance(FEB)  # the last phase ends: end_behavior=cancel
    sched = client.v1.subscription_schedules.retrieve(sched.id)
    assert (sched.status, sched.completed_at) == ("completed", FEB)
    assert (cus.sub(sub.id).status, cus.sub(sub.id).ended_at) == ("canceled", FEB)
    assert [i.amount_due for i in cus.invoices()] == [2900, 900, 900]
    # Upcoming invoices announced the Dec and Jan renewals (with Jan's new price), not Feb.
    assert [e.data.object.amount_due for e in events(client, "invoice.upcoming")] == [2900, 900]
    assert events(client, "subscription_schedule.completed")
    assert events(client, "customer.subscription.deleted")


def test_a_schedule_starting_later_creates_the_subscription_then(
    client: stripe.StripeClient, cus: Clocked, prices: dict[str, str]
) -> None:
    start = T0 + 5 * DAY
    sched = client.v1.subscription_schedules.create(
        {
            "customer": cus.customer,
            "start_date": start,
            "phases": [{"items": [{"price": prices["starter"], "quantity": 2}]}],
        }
    )
    assert (sched.status, sched.subscription, sched.current_phase) == ("not_started", None, None)
    assert [s.id for s in client.v1.subscription_schedules.list({"scheduled": True})] == [sched.id]
    assert list(client.v1.subscriptions.list({"customer": cus.customer})) == []
    cus.advance(start)
    sched = client.v1.subscription_schedules.retrieve(sched.id)
    sub = cus.sub(str(sched.subscription))
    assert (sched.status, sub.start_date, sub["items"].data[0].quantity) == ("active", start, 2)
    assert [i.amount_due for i in cus.invoices()] == [1800]


def test_a_phase_ending_mid_period_prorates(
    client: stripe.StripeClient, cus: Clocked, prices: dict[str, str]
) -> None:
    sub = cus.subscribe(prices["pro"])
    sched = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    switch = T0 + 10 * DAY
    client.v1.subscription_schedules.update(
        sched.id,
        {
            "phases": [
                {"items": [{"price": prices["pro"]}], "start_date": T0, "end_date": switch},
                {
                    "items": [{"price": prices["starter"]}],
                    "proration_behavior": "create_prorations",
                },
            ]
        },
    )
    cus.advance(switch)
    assert price_of(cus.sub(sub.id)) == prices["starter"]
    left = (DEC - switch) / (DEC - T0)
    credit, charge = -round(2900 * left), round(900 * left)
    pending = client.v1.invoice_items.list({"customer": cus.customer, "pending": True})
    assert sorted(i.amount for i in pending) == [credit, charge] == [-1933, 600]
    cus.advance(DEC)
    renewal = cus.invoices()[0]
    assert renewal.total == 900 + credit + charge == -433
    assert renewal.amount_due == 0
    assert client.v1.customers.retrieve(cus.customer).balance == -433


def test_changing_the_current_phase_applies_now(
    client: stripe.StripeClient, cus: Clocked, prices: dict[str, str]
) -> None:
    sub = cus.subscribe(prices["pro"])
    sched = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    now = T0 + 15 * DAY
    cus.advance(now)
    client.v1.subscription_schedules.update(
        sched.id,
        {"phases": [{"items": [{"price": prices["pro"], "quantity": 2}], "end_date": DEC}]},
    )
    assert cus.sub(sub.id)["items"].data[0].quantity == 2
    left = (DEC - now) / (DEC - T0)
    pending = client.v1.invoice_items.list({"customer": cus.customer, "pending": True})
    assert sorted(i.amount for i in pending) == [-round(2900 * left), round(2900 * 2 * left)]


def test_invalid_phases_are_refused(
    client: stripe.StripeClient, cus: Clocked, prices: dict[str, str]
) -> None:
    sub = cus.subscribe(prices["pro"])
    sched = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    pro: Any = [{"price": prices["pro"], "quantity": 1}]

    def update(phases: list[Any]) -> stripe.InvalidRequestError:
        return refused(
            lambda: client.v1.subscription_schedules.update(sched.id, {"phases": phases})
        )

    moved = update([{"items": pro, "start_date": T0 + DAY, "end_date": DEC}])
    assert moved.param == "phases[0][start_date]"
    backwards = update([{"items": pro, "start_date": T0, "end_date": T0 - DAY}])
    assert backwards.param == "phases[0][end_date]"
    both = update(
        [
            {"items": pro, "start_date": T0, "end_date": DEC},
            {"items": pro, "end_date": FEB, "duration": {"interval": "month"}},
        ]
    )
    assert both.param == "phases[1][duration]"
    gap = update(
        [
            {"items": pro, "start_date": T0, "end_date": DEC},
            {"items": pro, "start_date": DEC + DAY},
        ]
    )
    assert gap.param == "phases[1][start_date]"
    adopting = refused(
        lambda: client.v1.subscription_schedules.create(
            {"from_subscription": sub.id, "phases": [{"items": pro}]}
        )
    )
    assert adopting.param == "phases"  # from_subscription takes no phases
    assert client.v1.subscription_schedules.retrieve(sched.id).phases[0].end_date == DEC
    client.v1.subscription_schedules.release(sched.id)
    assert refused(
        lambda: client.v1.subscription_schedules.update(sched.id, {"metadata": {"a": "b"}})
    )


def test_a_metered_phase_item_takes_no_quantity(
    client: stripe.StripeClient, cus: Clocked, prices: dict[str, str]
) -> None:
    meter = client.v1.billing.meters.create(
        {
            "display_name": "Calls",
            "event_name": "calls",
            "default_aggregation": {"formula": "sum"},
        }
    )
    metered = client.v1.prices.create(
        {
            "product": str(client.v1.prices.retrieve(prices["pro"]).product),
            "currency": "usd",
            "unit_amount": 3,
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
        }
    )
    phase: Any = {"items": [{"price": metered.id, "quantity": 1}]}
    err = refused(
        lambda: client.v1.subscription_schedules.create(
            {"customer": cus.customer, "phases": [phase]}
        )
    )
    assert err.param == "phases[0][items][0][quantity]"
    sched = client.v1.subscription_schedules.create(
        {"customer": cus.customer, "phases": [{"items": [{"price": metered.id}]}]}
    )
    assert sched.phases[0]["items"][0].quantity is None
    assert cus.sub(str(sched.subscription))["items"].data[0].to_dict().get("quantity") is None


def test_a_schedule_has_every_fixture_key(
    client: stripe.StripeClient, stripe_emulator: Any, cus: Clocked, prices: dict[str, str]
) -> None:
    sched = downgrade_at_period_end(client, cus.subscribe(prices["pro"]), prices["starter"])
    served = raw(stripe_emulator.url, f"/v1/subscription_schedules/{sched.id}")
    assert missing_keys(REFERENCE["subscription_schedule"], served) == []


# --- a change made now: the preview is the invoice -------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "days"),
    [
        ("pro", "pro_yearly", 10),  # monthly -> yearly: a new yearly cycle starts now
        ("pro_yearly", "pro", 340),  # yearly -> monthly, late in the year
        ("starter", "pro", 10),  # same interval: prorated to the period end
    ],
)
def test_the_preview_of_a_change_is_the_invoice_it_makes(
    client: stripe.StripeClient,
    cus: Clocked,
    prices: dict[str, str],
    old: str,
    new: str,
    days: int,
) -> None:
    sub = cus.subscribe(prices[old])
    item = sub["items"].data[0]
    start, end = item.current_period_start, item.current_period_end
    now = T0 + days * DAY
    cus.advance(now)
    proration_date = now - 3600  # what the customer saw an hour ago
    change: Any = {
        "items": [{"id": item.id, "price": prices[new], "quantity": 1}],
        "proration_behavior": "always_invoice",
        "proration_date": proration_date,
    }
    preview = client.v1.invoices.create_preview(
        {"customer": cus.customer, "subscription": sub.id, "subscription_details": change}
    )
    updated = client.v1.subscriptions.update(sub.id, {**change, "expand": ["latest_invoice"]})
    invoice = updated.latest_invoice

    amounts = {"pro": 2900, "starter": 900, "pro_yearly": 29000}
    left = end - proration_date  # seconds of the old period not used, prorated per second
    credit = -round(amounts[old] * 1 * left / (end - start))
    if old.endswith("yearly") != new.endswith("yearly"):
        # An interval change restarts the cycle now: credit plus a full period of the new price.
        expected = credit + amounts[new]
        new_item = updated["items"].data[0]
        assert (new_item.current_period_start, updated.billing_cycle_anchor) == (now, now)
    else:
        expected = credit + round(amounts[new] * 1 * left / (end - start))
    assert expected > 0
    assert preview.amount_due == invoice.amount_due == expected
    assert preview.total == invoice.total
    assert sorted(ln.amount for ln in preview.lines.data) == sorted(
        ln.amount for ln in invoice.lines.data
    )
    assert (invoice.billing_reason, invoice.status) == ("subscription_update", "paid")
