"""Billing scenarios in simulated time: trials, renewals, dunning, prorations, usage, Checkout."""

# The SDK types expandable fields as `str | Object | None`; these tests know what they expanded.
# mypy: disable-error-code="union-attr,arg-type,index,operator"

from __future__ import annotations

from typing import Any

import pytest
import requests
import stripe

from tests.support.emulator import DAY, event_types

T0 = 1_700_000_000  # 2023-11-14 22:13:20 UTC: the next monthly period is 30 days long


def customer_on_clock(card: str = "pm_card_visa") -> tuple[Any, Any]:
    clock = stripe.test_helpers.TestClock.create(frozen_time=T0, name="scenario")
    customer = stripe.Customer.create(email="dunning@example.com", test_clock=clock.id)
    set_default_card(customer.id, card)
    return clock, customer


def set_default_card(customer_id: str, card: str) -> str:
    pm = stripe.PaymentMethod.attach(card, customer=customer_id)
    stripe.Customer.modify(customer_id, invoice_settings={"default_payment_method": pm.id})
    return str(pm.id)


def advance(clock_id: str, to: int) -> None:
    clock = stripe.test_helpers.TestClock.advance(clock_id, frozen_time=to)
    assert clock.status == "ready"


def test_trial_renewal_decline_retry_recovers(
    stripe_client: stripe.StripeClient, plans: dict[str, Any]
) -> None:
    clock, customer = customer_on_clock()
    sub = stripe.Subscription.create(
        customer=customer.id,
        items=[{"price": plans["basic"].id}],
        trial_period_days=14,
        expand=["latest_invoice"],
    )
    assert sub.status == "trialing"
    assert sub.trial_end == T0 + 14 * DAY
    assert (sub.latest_invoice.status, sub.latest_invoice.amount_due) == ("paid", 0)

    advance(clock.id, T0 + 14 * DAY + 3600)  # trial over: first paid invoice
    sub = stripe.Subscription.retrieve(sub.id, expand=["latest_invoice"])
    assert sub.status == "active"
    assert (sub.latest_invoice.status, sub.latest_invoice.amount_paid) == ("paid", 1000)
    assert sub.latest_invoice.billing_reason == "subscription_cycle"
    period_end = sub["items"].data[0].current_period_end
    assert sub["items"].data[0].current_period_start == T0 + 14 * DAY

    set_default_card(customer.id, "pm_card_chargeCustomerFail")
    advance(clock.id, period_end + 3600)  # renewal is declined
    sub = stripe.Subscription.retrieve(sub.id, expand=["latest_invoice"])
    invoice = sub.latest_invoice
    assert sub.status == "past_due"
    assert (invoice.status, invoice.attempt_count, invoice.amount_remaining) == ("open", 1, 1000)
    assert invoice.next_payment_attempt == invoice.status_transitions.finalized_at + 3 * DAY

    set_default_card(customer.id, "pm_card_visa")
    advance(clock.id, invoice.next_payment_attempt + 3600)  # the retry now succeeds
    sub = stripe.Subscription.retrieve(sub.id, expand=["latest_invoice"])
    assert sub.status == "active"
    assert (sub.latest_invoice.status, sub.latest_invoice.attempt_count) == ("paid", 2)

    expected = {
        "customer.subscription.created",
        "customer.subscription.trial_will_end",
        "customer.subscription.updated",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_failed",
        "invoice.upcoming",
        "charge.failed",
        "charge.succeeded",
        "payment_method.attached",
        "test_helpers.test_clock.ready",
    }
    assert expected <= set(event_types())
    recovered = [
        e
        for e in stripe.Event.list(type="customer.subscription.updated", limit=100)
        if e.data.to_dict().get("previous_attributes", {}).get("status") == "past_due"
    ]
    assert recovered
    assert recovered[0].data.object.status == "active"


@pytest.mark.parametrize("final", ["canceled", "unpaid"])
def test_exhausted_retries_end_the_subscription(
    stripe_client: stripe.StripeClient,
    stripe_emulator: Any,
    plans: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    final: str,
) -> None:
    monkeypatch.setattr(stripe_emulator.store.config, "dunning_final_action", final)
    clock, customer = customer_on_clock()
    sub = stripe.Subscription.create(customer=customer.id, items=[{"price": plans["basic"].id}])
    assert sub.status == "active"
    set_default_card(customer.id, "pm_card_chargeCustomerFail")
    end = sub["items"].data[0].current_period_end
    advance(clock.id, end + 8 * DAY)  # first attempt + retries at +3, +5, +7 days
    sub = stripe.Subscription.retrieve(sub.id, expand=["latest_invoice"])
    assert sub.status == final
    assert sub.latest_invoice.attempt_count == 4
    assert sub.latest_invoice.next_payment_attempt is None
    assert ("customer.subscription.deleted" in event_types()) == (final == "canceled")


def test_incomplete_when_first_payment_fails(
    stripe_client: stripe.StripeClient, plans: dict[str, Any]
) -> None:
    _, customer = customer_on_clock("pm_card_chargeCustomerFail")
    sub = stripe.Subscription.create(
        customer=customer.id, items=[{"price": plans["basic"].id}], expand=["latest_invoice"]
    )
    assert (sub.status, sub.latest_invoice.status) == ("incomplete", "open")
    with pytest.raises(stripe.CardError) as err:
        stripe.Subscription.create(
            customer=customer.id,
            items=[{"price": plans["basic"].id}],
            payment_behavior="error_if_incomplete",
        )
    assert err.value.code == "card_declined"
    pm = stripe.PaymentMethod.attach("pm_card_visa", customer=customer.id)
    paid = stripe.Invoice.pay(sub.latest_invoice.id, payment_method=pm.id)
    assert paid.status == "paid"
    assert stripe.Subscription.retrieve(sub.id).status == "active"


def test_mid_period_upgrade_prorates_by_elapsed_time(
    stripe_client: stripe.StripeClient, plans: dict[str, Any]
) -> None:
    clock, customer = customer_on_clock()
    sub = stripe.Subscription.create(customer=customer.id, items=[{"price": plans["basic"].id}])
    item = sub["items"].data[0]
    start, end = item.current_period_start, item.current_period_end
    at = start + (end - start) // 2
    advance(clock.id, at)
    stripe.Subscription.modify(
        sub.id,
        items=[{"id": item.id, "price": plans["pro"].id}],
        proration_behavior="create_prorations",
    )
    pending = stripe.InvoiceItem.list(customer=customer.id, pending=True).data
    credit = -round(1000 * 1 * (end - at) / (end - start))
    charge = round(3000 * 1 * (end - at) / (end - start))
    assert sorted(i.amount for i in pending) == [credit, charge] == [-500, 1500]
    assert all(i.proration and i.period.start == at and i.period.end == end for i in pending)

    preview = stripe.Invoice.create_preview(subscription=sub.id)
    assert preview.total == credit + charge + 3000
    proration_lines = [
        ln for ln in preview.lines.data if ln.parent.subscription_item_details.proration
    ]
    assert sorted(ln.amount for ln in proration_lines) == [-500, 1500]

    advance(clock.id, end + 3600)
    invoice = stripe.Invoice.retrieve(stripe.Subscription.retrieve(sub.id).latest_invoice)
    assert (invoice.status, invoice.total, invoice.amount_paid) == ("paid", 4000, 4000)
    assert len(invoice.lines.data) == 3
    assert stripe.InvoiceItem.list(customer=customer.id, pending=True).data == []


def test_preview_with_proration_date_changes_nothing(
    stripe_client: stripe.StripeClient, plans: dict[str, Any]
) -> None:
    _, customer = customer_on_clock()
    sub = stripe.Subscription.create(customer=customer.id, items=[{"price": plans["basic"].id}])
    item = sub["items"].data[0]
    start, end = item.current_period_start, item.current_period_end
    at = start + 7 * DAY
    preview = stripe.Invoice.create_preview(
        subscription=sub.id,
        subscription_details={
            "items": [{"id": item.id, "price": plans["pro"].id, "quantity": 2}],
            "proration_date": at,
        },
    )
    amounts = sorted(
        ln.amount for ln in preview.lines.data if ln.parent.subscription_item_details.proration
    )
    assert amounts == [
        -round(1000 * (end - at) / (end - start)),
        round(3000 * 2 * (end - at) / (end - start)),
    ]
    assert preview.id.startswith("upcoming_in_")
    assert stripe.Subscription.retrieve(sub.id)["items"].data[0].price.id == plans["basic"].id
    assert stripe.InvoiceItem.list(customer=customer.id).data == []


def test_always_invoice_and_interval_change(
    stripe_client: stripe.StripeClient, plans: dict[str, Any]
) -> None:
    clock, customer = customer_on_clock()
    sub = stripe.Subscription.create(customer=customer.id, items=[{"price": plans["basic"].id}])
    item = sub["items"].data[0]
    advance(clock.id, T0 + 10 * DAY)
    sub = stripe.Subscription.modify(
        sub.id,
        items=[{"id": item.id, "quantity": 3}],
        proration_behavior="always_invoice",
        expand=["latest_invoice"],
    )
    inv = sub.latest_invoice
    assert (inv.billing_reason, inv.status) == ("subscription_update", "paid")
    assert inv.total == round(1000 * 3 * 20 / 30) - round(1000 * 20 / 30)
    sub = stripe.Subscription.modify(
        sub.id,
        items=[{"id": item.id, "price": plans["pro_yearly"].id, "quantity": 1}],
        expand=["latest_invoice"],
    )
    new_item = sub["items"].data[0]
    assert new_item.current_period_start == T0 + 10 * DAY
    assert new_item.current_period_end - new_item.current_period_start == 366 * DAY
    assert sub.latest_invoice.total == 30000 - round(1000 * 3 * 20 / 30)


def test_cancel_at_period_end_and_immediately(
    stripe_client: stripe.StripeClient, plans: dict[str, Any]
) -> None:
    clock, customer = customer_on_clock()
    sub = stripe.Subscription.create(
        customer=customer.id, items=[{"price": plans["basic"].id}], metadata={"org": "1"}
    )
    end = sub["items"].data[0].current_period_end
    sub = stripe.Subscription.modify(sub.id, cancel_at_period_end=True, metadata={"org": ""})
    assert (sub.cancel_at_period_end, sub.cancel_at, sub.status) == (True, end, "active")
    assert sub.metadata.to_dict() == {}
    advance(clock.id, end + 60)
    sub = stripe.Subscription.retrieve(sub.id)
    assert (sub.status, sub.ended_at) == ("canceled", end)
    assert stripe.Subscription.list(customer=customer.id).data == []
    assert len(stripe.Subscription.list(customer=customer.id, status="all").data) == 1
    other = stripe.Subscription.create(customer=customer.id, items=[{"price": plans["pro"].id}])
    assert stripe.Subscription.cancel(other.id).status == "canceled"
    assert "customer.subscription.deleted" in event_types()


def test_metered_usage_is_billed_at_renewal(
    stripe_client: stripe.StripeClient, plans: dict[str, Any]
) -> None:
    meter = stripe.billing.Meter.create(
        display_name="API requests",
        event_name="api_requests",
        default_aggregation={"formula": "sum"},
    )
    metered = stripe.Price.create(
        product=plans["product"].id,
        currency="usd",
        unit_amount=5,
        recurring={"interval": "month", "usage_type": "metered", "meter": meter.id},
    )
    clock, customer = customer_on_clock()
    sub = stripe.Subscription.create(
        customer=customer.id, items=[{"price": plans["basic"].id}, {"price": metered.id}]
    )
    for value in ("100", "50"):
        stripe.billing.MeterEvent.create(
            event_name="api_requests", payload={"stripe_customer_id": customer.id, "value": value}
        )
    end = sub["items"].data[0].current_period_end
    advance(clock.id, end + 60)
    invoice = stripe.Invoice.retrieve(stripe.Subscription.retrieve(sub.id).latest_invoice)
    usage = [ln for ln in invoice.lines.data if ln.pricing.price_details.price == metered.id]
    assert [(ln.quantity, ln.amount) for ln in usage] == [(150, 750)]
    assert invoice.total == 1000 + 750
    assert [m.id for m in stripe.billing.Meter.list()] == [meter.id]


def test_checkout_session_completes_into_a_subscription(
    stripe_client: stripe.StripeClient, stripe_emulator: Any, plans: dict[str, Any]
) -> None:
    session = stripe.checkout.Session.create(
        mode="subscription",
        line_items=[{"price": plans["pro"].id, "quantity": 2}],
        success_url="https://app.example/ok?session={CHECKOUT_SESSION_ID}",
        cancel_url="https://app.example/cancel",
        client_reference_id="org_42",
        customer_email="buyer@example.com",
        metadata={"org": "42"},
    )
    assert session.url.startswith(stripe_emulator.url + "/c/pay/")
    assert (session.status, session.amount_total) == ("open", 6000)
    page = requests.get(session.url, timeout=5)
    assert page.status_code == 200
    assert "Subscribe" in page.text
    declined = requests.post(
        session.url,
        data={"payment_method": "pm_card_chargeCustomerFail"},
        allow_redirects=False,
        timeout=5,
    )
    assert declined.status_code == 402
    assert stripe.checkout.Session.retrieve(session.id).status == "open"
    paid = requests.post(
        session.url, data={"payment_method": "pm_card_visa"}, allow_redirects=False, timeout=5
    )
    assert paid.status_code == 303
    assert paid.headers["Location"] == f"https://app.example/ok?session={session.id}"
    done = stripe.checkout.Session.retrieve(session.id, expand=["subscription", "customer"])
    assert (done.status, done.payment_status, done.client_reference_id) == (
        "complete",
        "paid",
        "org_42",
    )
    assert done.subscription.status == "active"
    assert done.customer.email == "buyer@example.com"
    assert done.subscription["items"].data[0].quantity == 2
    completed = stripe.Event.list(type="checkout.session.completed").data
    assert [e.data.object.id for e in completed] == [session.id]

    trial = stripe.checkout.Session.create(
        mode="subscription",
        line_items=[{"price": plans["basic"].id, "quantity": 1}],
        customer=done.customer.id,
        success_url="https://app.example/ok",
        subscription_data={"trial_period_days": 7},
    )
    reply = requests.post(
        f"{stripe_emulator.url}/_emulator/checkout/{trial.id}/complete", timeout=5
    )
    assert reply.json()["payment_status"] == "no_payment_required"
    assert stripe.Subscription.retrieve(reply.json()["subscription"]).status == "trialing"


def test_hosted_pages(
    stripe_client: stripe.StripeClient, stripe_emulator: Any, plans: dict[str, Any]
) -> None:
    _, customer = customer_on_clock()
    sub = stripe.Subscription.create(
        customer=customer.id, items=[{"price": plans["basic"].id}], expand=["latest_invoice"]
    )
    invoice = sub.latest_invoice
    assert invoice.hosted_invoice_url.startswith(stripe_emulator.url)
    assert "Invoice" in requests.get(invoice.hosted_invoice_url, timeout=5).text
    assert requests.get(invoice.invoice_pdf, timeout=5).content.startswith(b"%PDF")
    portal = stripe.billing_portal.Session.create(
        customer=customer.id, return_url="https://app.example/account"
    )
    page = requests.get(portal.url, timeout=5)
    assert page.status_code == 200
    assert sub.id in page.text


def test_clock_rejects_going_back_and_deletes_its_customers(
    stripe_client: stripe.StripeClient,
) -> None:
    clock, customer = customer_on_clock()
    with pytest.raises(stripe.InvalidRequestError) as err:
        stripe.test_helpers.TestClock.advance(clock.id, frozen_time=T0 - 1)
    assert err.value.param == "frozen_time"
    assert [c.id for c in stripe.test_helpers.TestClock.list()] == [clock.id]
    assert stripe.test_helpers.TestClock.delete(clock.id).deleted
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Customer.retrieve(customer.id)


def test_trial_without_card_pauses_then_resumes(
    stripe_client: stripe.StripeClient, plans: dict[str, Any]
) -> None:
    clock = stripe.test_helpers.TestClock.create(frozen_time=T0)
    customer = stripe.Customer.create(test_clock=clock.id)
    sub = stripe.Subscription.create(
        customer=customer.id,
        items=[{"price": plans["basic"].id}],
        trial_period_days=3,
        trial_settings={"end_behavior": {"missing_payment_method": "pause"}},
    )
    assert "customer.subscription.trial_will_end" in event_types()  # trial shorter than 3 days
    advance(clock.id, T0 + 4 * DAY)
    assert stripe.Subscription.retrieve(sub.id).status == "paused"
    set_default_card(customer.id, "pm_card_visa")
    resumed = stripe.Subscription.resume(sub.id, expand=["latest_invoice"])
    assert (resumed.status, resumed.latest_invoice.amount_paid) == ("active", 1000)
    assert {"customer.subscription.paused", "customer.subscription.resumed"} <= set(event_types())


def test_a_change_at_the_very_start_of_a_period_prorates_the_whole_period(
    stripe_client: stripe.StripeClient, plans: dict[str, Any]
) -> None:
    clock, customer = customer_on_clock()
    sub = stripe.Subscription.create(customer=customer.id, items=[{"price": plans["basic"].id}])
    item = sub["items"].data[0]
    preview = stripe.Invoice.create_preview(
        subscription=sub.id,
        subscription_details={
            "items": [{"id": item.id, "price": plans["pro"].id}],
            "proration_date": item.current_period_start,
            "proration_behavior": "always_invoice",
        },
    )
    assert sorted(ln.amount for ln in preview.lines.data) == [-1000, 3000]
    assert preview.amount_due == 2000
