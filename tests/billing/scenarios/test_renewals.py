"""Renewals, trials and dunning over simulated months, as the tenant admin sees them."""

from datetime import datetime

from tests.support.billing import stripe_sdk
from tests.support.processes import body_text, wait_until
from tests.support.scenarios import World, pay_on_hosted_page


def _ts(value: str) -> int:
    return int(datetime.fromisoformat(value).timestamp())


def test_monthly_renewals_bill_the_same_amount_each_period(stripe_world: World) -> None:
    admin = stripe_world.signup("renewals", trial_days=0)
    paid = pay_on_hosted_page(admin.checkout("starter-monthly"))
    assert paid.status_code == 303
    assert paid.headers["Location"].startswith(f"http://{admin.host}")
    stripe_world.settle()
    sub = admin.subscription()
    assert (sub["plan"], sub["price"], sub["status"], sub["seats"]) == (
        "starter",
        "starter-monthly",
        "active",
        1,
    )
    assert [i["amount_paid"] for i in admin.invoices()] == [900]

    for period in range(2, 5):
        admin.advance(to=_ts(admin.subscription()["current_period_end"]) + 3600)
        stripe_world.settle()
        invoices = admin.invoices()
        assert [i["amount_paid"] for i in invoices] == [900] * period
        assert all(i["status"] == "paid" for i in invoices)
        # Each renewal bills the period that starts at the previous period's end.
        newest, previous = invoices[0], invoices[1]
        assert newest["id"] != previous["id"]
        assert admin.subscription()["status"] == "active"
    wait_until(lambda: len(admin.receipts()) == 4, "four receipts")
    assert admin.emails() == admin.receipts()  # and nothing else
    bodies = [body_text(m) for m in stripe_world.stack.mail.sent_to(admin.email)]
    assert all("9.00 USD" in body for body in bodies)
    remote = stripe_sdk().v1.invoices.list({"customer": admin.customer_id, "limit": 100})
    assert sorted(i.amount_paid for i in remote.data) == [900] * 4
