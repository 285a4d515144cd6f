"""Metered billing end to end: a Checkout for the metered price (no quantity), API requests
counted as they are served, the beat job's collect-and-report, and the renewal invoice
billing exactly the requests made, one cent each."""

import time
from datetime import datetime

from billing.services.usage import usage_collect, usage_report_all
from tests.support.scenarios import World, pay_on_hosted_page

REQUESTS = 7


def test_every_request_of_the_first_period_is_billed_at_the_renewal(stripe_world: World) -> None:
    admin = stripe_world.signup("metered", trial_days=0)
    assert pay_on_hosted_page(admin.checkout("scale-usage")).status_code == 303
    stripe_world.settle()
    sub = admin.subscription()
    assert (sub["plan"], sub["price"], sub["status"]) == ("scale", "scale-usage", "active")
    assert [i["amount_paid"] for i in admin.invoices()] == [0]  # billed in arrears

    for _ in range(REQUESTS):
        assert admin.request("GET", "projects/").status_code == 200
    # The beat job's work, with its minutes closed (it waits for a minute to end first).
    usage_collect(now=time.time() + 180)
    usage_report_all()
    end = admin.subscription()["current_period_end"]
    admin.advance(to=int(datetime.fromisoformat(end).timestamp()) + 3600)
    stripe_world.settle()

    # The subscription/ and invoices/ reads before the requests are API requests on the
    # metered plan too; the reads after the collection were never reported, so not billed.
    newest = admin.invoices()[0]
    assert newest["amount_due"] == newest["amount_paid"] == REQUESTS + 2
