"""Double clicks and races: two checkouts, two changes, a change racing a renewal. One
subscription per tenant, always; the second click gets a clear 409; no webhook event fails."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests

from saas.audit.models import AuditEntry
from tests.support.billing import stripe_sdk
from tests.support.processes import wait_until
from tests.support.scenarios import (
    Admin,
    World,
    pay_on_hosted_page,
    period_of,
    stripe_invoices,
    subscribed,
)


def at_once(*calls: Callable[[], requests.Response]) -> list[requests.Response]:
    """Run the calls in threads released together; answers in call order."""
    barrier = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        answers[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def live_subscriptions(admin: Admin) -> list[Any]:
    params: Any = {"customer": admin.customer_id, "status": "all", "limit": 100}
    found = stripe_sdk().v1.subscriptions.list(params).data
    return [s for s in found if s.status not in ("canceled", "incomplete_expired")]


def session_outside_our_api(admin: Admin, lookup_key: str) -> Any:
    """A Checkout Session for the tenant's customer made straight at Stripe (an old
    integration, the Dashboard, a session opened before this deployment)."""
    price = stripe_sdk().v1.prices.list({"lookup_keys": [lookup_key]}).data[0]
    params: Any = {
        "mode": "subscription",
        "customer": admin.customer_id,
        "line_items": [{"price": price.id, "quantity": 1}],
        "success_url": "http://example.test/ok",
    }
    return stripe_sdk().v1.checkout.sessions.create(params)


def test_two_checkouts_at_once_leave_one_payable_session(stripe_world: World) -> None:
    admin = stripe_world.signup("twocheckouts", trial_days=0)
    checkout = {"price": "starter-monthly"}

    first, second = at_once(
        lambda: admin.post("billing/checkout/", checkout),
        lambda: admin.post("billing/checkout/", checkout),
    )

    assert (first.status_code, second.status_code) == (201, 201)
    sessions = stripe_sdk().v1.checkout.sessions.list({"customer": admin.customer_id}).data
    assert sorted(str(s.status) for s in sessions) == ["expired", "open"]  # the last click wins
    paid = [pay_on_hosted_page(a.json()["url"]).status_code for a in (first, second)]
    assert sorted(paid)[0] == 303  # one pays; Stripe refuses the expired one
    assert sorted(paid)[1] >= 400
    stripe_world.settle()
    assert len(live_subscriptions(admin)) == 1
    assert admin.subscription()["status"] == "active"
    wait_until(lambda: len(admin.receipts()) == 1, "one receipt")
    third = admin.post("billing/checkout/", checkout)
    assert (third.status_code, third.json()["error"]["code"]) == (409, "already_subscribed")


def test_a_second_paid_checkout_is_canceled_and_refunded(stripe_world: World) -> None:
    """Two sessions paid anyway (one opened before this deployment, or a race Stripe let
    through): the tenant keeps the first subscription; the second ends at once, its
    charge refunded, recorded in the audit log, and no receipt is sent for it."""
    admin = stripe_world.signup("twopaid", trial_days=0)
    assert pay_on_hosted_page(admin.checkout("starter-monthly")).status_code == 303
    stripe_world.settle()
    kept = admin.account.stripe_subscription_id
    stray = session_outside_our_api(admin, "pro-monthly")

    assert pay_on_hosted_page(stray.url or "").status_code == 303
    stripe_world.settle()

    live = live_subscriptions(admin)
    assert [s.id for s in live] == [kept]
    duplicate = stripe_sdk().v1.checkout.sessions.retrieve(stray.id).subscription
    invoice = next(i for i in stripe_invoices(admin) if i.amount_paid == 1900)
    refunds = stripe_sdk().v1.refunds.list({"limit": 100}).data
    assert [(r.amount, r.status) for r in refunds] == [(1900, "succeeded")]
    charge = stripe_sdk().v1.charges.retrieve(str(refunds[0].charge))
    assert (charge.amount_refunded, charge.refunded) == (1900, True)
    assert charge.customer == admin.customer_id
    assert invoice.status == "paid"
    sub = admin.subscription()
    assert (sub["plan"], sub["price"], sub["status"]) == ("starter", "starter-monthly", "active")
    with admin.tenant:
        entry = AuditEntry.objects.get(action="billing.duplicate_subscription_canceled")
    assert entry.target_id == duplicate
    assert entry.changes == {"kept": kept, "refunded": 1900}
    wait_until(lambda: len(admin.receipts()) >= 1, "the first receipt")
    assert len(admin.receipts()) == 1


@pytest.mark.parametrize(
    ("slug", "before", "after", "code"),
    [
        ("twoupgrades", "starter-monthly", "pro-monthly", "same_price"),
        ("twodowngrades", "pro-monthly", "starter-monthly", "change_already_scheduled"),
    ],
)
def test_two_identical_changes_at_once_change_once(
    stripe_world: World, slug: str, before: str, after: str, code: str
) -> None:
    admin = subscribed(stripe_world, slug, before)
    body = {"price": after}

    answers = at_once(
        lambda: admin.post("billing/subscription/change/", body),
        lambda: admin.post("billing/subscription/change/", body),
    )

    assert sorted(a.status_code for a in answers) == [200, 409]
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.json()["error"]["code"] == code
    reasons = [i.billing_reason for i in stripe_invoices(admin)]
    schedules = stripe_sdk().v1.subscription_schedules.list({"customer": admin.customer_id})
    if code == "same_price":  # an upgrade: charged once, now
        assert (reasons.count("subscription_update"), len(schedules.data)) == (1, 0)
    else:  # a downgrade: scheduled once, nothing charged
        assert (reasons.count("subscription_update"), len(schedules.data)) == (0, 1)
    stripe_world.settle()  # and no webhook event failed on the way
    sub = admin.subscription()
    assert (sub["price"], sub["scheduled_change"]) == (
        (after, None) if code == "same_price" else (before, after)
    )


def test_an_upgrade_racing_the_renewal_bills_both_once(stripe_world: World) -> None:
    """The clock crosses the period end while an upgrade is made: whichever Stripe runs
    first, each is billed once and the mirror ends on pro with Stripe's period."""
    admin = subscribed(stripe_world, "racer", "starter-monthly")
    _, end = period_of(admin)
    admin.advance(to=end - 60)

    upgrade, _ = at_once(
        lambda: admin.post("billing/subscription/change/", {"price": "pro-monthly"}),
        lambda: _advance_answer(admin, end + 3600),
    )

    assert upgrade.status_code == 200, upgrade.text
    stripe_world.settle()
    invoices = stripe_invoices(admin)
    reasons = [i.billing_reason for i in invoices]
    assert reasons.count("subscription_cycle") == 1
    assert reasons.count("subscription_update") == 1
    sub = admin.subscription()
    assert (sub["plan"], sub["status"]) == ("pro", "active")
    remote_start, remote_end = period_of(admin)
    assert sub["current_period_end"].startswith(_day(remote_end))
    assert sorted(i["amount_paid"] for i in admin.invoices()) == sorted(
        i.amount_paid for i in invoices
    )


def _advance_answer(admin: Admin, to: int) -> requests.Response:
    admin.advance(to=to)
    response = requests.Response()
    response.status_code = 200
    return response


def _day(ts: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).date().isoformat()


def test_a_completed_checkout_expires_the_other_open_sessions(stripe_world: World) -> None:
    admin = stripe_world.signup("expireothers", trial_days=0)
    ours = admin.checkout("starter-monthly")  # opened, then left in a browser tab
    other = session_outside_our_api(admin, "pro-monthly")
    assert pay_on_hosted_page(other.url or "").status_code == 303
    stripe_world.settle()

    sessions = stripe_sdk().v1.checkout.sessions.list({"customer": admin.customer_id}).data
    assert sorted(str(s.status) for s in sessions) == ["complete", "expired"]
    assert pay_on_hosted_page(ours).status_code >= 400
    assert len(live_subscriptions(admin)) == 1
    assert admin.subscription()["plan"] == "pro"
