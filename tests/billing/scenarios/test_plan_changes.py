"""Plan changes over time, as Stripe models them: upgrades now (prorated per second, charged
what the preview said), downgrades at the period end through a subscription schedule (Stripe
switches the price itself; the mirror follows its webhooks), interval changes now (a new
billing cycle from the change, with a credit for the unused time)."""

import pytest

from billing.models import Price
from tests.support.processes import wait_until
from tests.support.scenarios import (
    DAY,
    Admin,
    World,
    pay_on_hosted_page,
    period_of,
    prorated,
    stripe_invoices,
    stripe_subscription,
    subscribed,
)

AMOUNT = {"starter-monthly": 900, "starter-yearly": 9000, "pro-monthly": 1900, "pro-yearly": 19000}


def preview_then_change(admin: Admin, price: str) -> tuple[dict, dict]:
    preview = admin.post("billing/subscription/preview-change/", {"price": price})
    assert preview.status_code == 200, preview.text
    body = {"price": price, "proration_date": preview.json()["proration_date"]}
    changed = admin.post("billing/subscription/change/", body)
    assert changed.status_code == 200, changed.text
    return preview.json(), changed.json()


def test_upgrade_mid_period_charges_the_prorated_difference_now(stripe_world: World) -> None:
    admin = subscribed(stripe_world, "upgrader", "starter-monthly")
    start, end = period_of(admin)
    admin.advance(days=10)

    preview, changed = preview_then_change(admin, "pro-monthly")

    at = preview["proration_date"]
    assert at == admin.clock_now()  # prorated at Stripe's (the clock's) time
    remaining, period = end - at, end - start
    expected = prorated(1900, 1, remaining, period) - prorated(900, 1, remaining, period)
    assert (preview["effective"], preview["amount_due_now"]) == ("now", expected)
    assert (changed["effective"], changed["amount_due_now"]) == ("now", expected)
    assert changed["subscription"]["plan"] == "pro"
    newest = stripe_invoices(admin)[0]
    assert (newest.billing_reason, newest.amount_paid) == ("subscription_update", expected)
    stripe_world.settle()
    sub = admin.subscription()
    assert (sub["plan"], sub["price"], sub["scheduled_change"]) == ("pro", "pro-monthly", None)
    assert admin.entitlements()["seats"]["limit"] == 50
    assert [i["amount_paid"] for i in admin.invoices()] == [expected, 900]
    # The renewal after the upgrade bills pro for a whole period.
    admin.advance(to=end + 3600)
    stripe_world.settle()
    assert [i["amount_paid"] for i in admin.invoices()] == [1900, expected, 900]
    wait_until(lambda: len(admin.receipts()) == 3, "three receipts")


def test_downgrade_waits_for_the_period_end_then_renews_on_the_lower_plan(
    stripe_world: World,
) -> None:
    admin = subscribed(stripe_world, "downgrader", "pro-monthly")
    start, end = period_of(admin)
    admin.advance(days=3)

    preview = admin.post("billing/subscription/preview-change/", {"price": "starter-monthly"})
    changed = admin.post("billing/subscription/change/", {"price": "starter-monthly"})

    for answer in (preview.json(), changed.json()):
        assert (answer["effective"], answer["amount_due_now"]) == ("period_end", 0)
        assert answer["effective_at"] is not None
    stripe_world.settle()
    sub = admin.subscription()
    assert (sub["plan"], sub["scheduled_change"]) == ("pro", "starter-monthly")
    assert admin.entitlements()["plan"]["code"] == "pro"  # paid for until the period ends
    remote = stripe_subscription(admin)
    assert remote["items"].data[0].price.lookup_key == "pro-monthly"
    assert [p.end_date for p in remote.schedule.phases][:1] == [end]
    assert len(stripe_invoices(admin)) == 1  # nothing billed by the change

    admin.advance(to=end + 3600)
    stripe_world.settle()
    sub = admin.subscription()
    assert (sub["plan"], sub["price"], sub["scheduled_change"]) == (
        "starter",
        "starter-monthly",
        None,
    )
    entitlements = admin.entitlements()
    assert (entitlements["plan"]["code"], entitlements["seats"]["limit"]) == ("starter", 10)
    assert [i["amount_paid"] for i in admin.invoices()] == [900, 1900]
    newest = stripe_invoices(admin)[0]
    assert (newest.period_start, newest.period_end) == (start, end)  # Stripe's renewal shape

    # The next renewal stays on starter: nothing switches back.
    admin.advance(days=31)
    stripe_world.settle()
    assert [i["amount_paid"] for i in admin.invoices()] == [900, 900, 1900]
    assert admin.subscription()["plan"] == "starter"
    assert stripe_subscription(admin).schedule is None  # released after the switch


def test_back_to_the_current_price_drops_the_scheduled_downgrade(stripe_world: World) -> None:
    admin = subscribed(stripe_world, "changeback", "pro-monthly")
    _, end = period_of(admin)
    assert admin.post("billing/subscription/change/", {"price": "starter-monthly"}).ok
    again = admin.post("billing/subscription/change/", {"price": "starter-monthly"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "change_already_scheduled"

    kept = admin.post("billing/subscription/change/", {"price": "pro-monthly"})

    assert kept.status_code == 200, kept.text
    assert (kept.json()["effective"], kept.json()["amount_due_now"]) == ("now", 0)
    assert kept.json()["subscription"]["scheduled_change"] is None
    assert stripe_subscription(admin).schedule is None
    admin.advance(to=end + 3600)
    stripe_world.settle()
    assert [i["amount_paid"] for i in admin.invoices()] == [1900, 1900]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("pro-monthly", "pro-yearly"),
        ("starter-monthly", "starter-yearly"),
        ("pro-yearly", "pro-monthly"),
        ("pro-yearly", "starter-monthly"),
        ("starter-yearly", "pro-monthly"),
    ],
)
def test_an_interval_change_starts_a_new_cycle_now_with_a_credit(
    stripe_world: World, before: str, after: str
) -> None:
    admin = subscribed(stripe_world, "interval", before)
    start, end = period_of(admin)
    admin.advance(days=10)

    preview, changed = preview_then_change(admin, after)

    at = preview["proration_date"]
    credit = prorated(AMOUNT[before], 1, end - at, end - start)
    total = AMOUNT[after] - credit  # the new cycle in full, less the unused old time
    assert preview["effective"] == changed["effective"] == "now"
    assert preview["amount_due_now"] == changed["amount_due_now"] == max(total, 0)
    newest = stripe_invoices(admin)[0]
    assert (newest.total, newest.amount_due) == (total, max(total, 0))
    new_start, new_end = period_of(admin)
    assert new_start == at  # the billing anchor moved to the change
    interval = Price.objects.get(lookup_key=after).interval
    assert new_end - new_start >= (365 if interval == "year" else 28) * DAY
    stripe_world.settle()
    sub = admin.subscription()
    assert (sub["price"], sub["scheduled_change"]) == (after, None)
    assert sub["current_period_end"].startswith(_iso_day(new_end))


def _iso_day(ts: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).date().isoformat()


def test_an_interval_change_during_a_trial_bills_nothing_until_the_trial_ends(
    stripe_world: World,
) -> None:
    admin = stripe_world.signup("trialinterval", trial_days=14)
    assert pay_on_hosted_page(admin.checkout("pro-monthly")).status_code == 303
    stripe_world.settle()
    trial_end = admin.subscription()["trial_end"]
    admin.advance(days=2)

    preview, changed = preview_then_change(admin, "pro-yearly")

    assert preview["amount_due_now"] == changed["amount_due_now"] == 0
    stripe_world.settle()
    sub = admin.subscription()
    assert (sub["price"], sub["status"], sub["trial_end"]) == ("pro-yearly", "trialing", trial_end)
    assert [i.amount_due for i in stripe_invoices(admin)] == [0]
    admin.advance(days=13)
    stripe_world.settle()
    sub = admin.subscription()
    assert (sub["price"], sub["status"]) == ("pro-yearly", "active")
    assert [i["amount_paid"] for i in admin.invoices()] == [19000, 0]
    start, end = period_of(admin)
    assert end - start >= 365 * DAY
