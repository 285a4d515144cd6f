"""Checkout Sessions (metered prices, listing, expiry, UI modes), the payments of an invoice
and refunds, through the SDK; amounts to the cent."""

# The SDK types expandable and optional fields as unions; these tests know what they hold.
# mypy: disable-error-code="union-attr"

from __future__ import annotations

from typing import Any

import pytest
import requests
import stripe

from tests.support.emulator import REFERENCE, missing_keys, raw, refused

T0 = 1_700_000_000  # 2023-11-14 22:13:20 UTC
DEC = T0 + 30 * 86400  # the first monthly renewal


@pytest.fixture
def client(stripe_client: stripe.StripeClient) -> stripe.StripeClient:
    return stripe_client


@pytest.fixture
def prices(client: stripe.StripeClient) -> dict[str, str]:
    """A monthly seat price (1500) and an API-call price metered at 2 cents a call."""
    product = client.v1.products.create({"name": "SaaS"})
    meter = client.v1.billing.meters.create(
        {
            "display_name": "API calls",
            "event_name": "api_calls",
            "default_aggregation": {"formula": "sum"},
        }
    )
    seat = client.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 1500,
            "recurring": {"interval": "month"},
        }
    )
    calls = client.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 2,
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
        }
    )
    return {"seat": seat.id, "calls": calls.id}


def customer(client: stripe.StripeClient, *, clock: bool = False) -> str:
    params: Any = {"email": "buyer@example.com"}
    if clock:
        params["test_clock"] = client.v1.test_helpers.test_clocks.create({"frozen_time": T0}).id
    return str(client.v1.customers.create(params).id)


def session(client: stripe.StripeClient, cus: str, price: str, **extra: Any) -> Any:
    params: Any = {
        "mode": "subscription",
        "customer": cus,
        "line_items": [{"price": price, "quantity": 1}],
        "success_url": "https://app.example/ok",
        **extra,
    }
    return client.v1.checkout.sessions.create(params)


# --- Checkout ------------------------------------------------------------------------------


def test_a_metered_line_item_has_no_quantity_and_bills_usage_in_arrears(
    client: stripe.StripeClient, stripe_emulator: Any, prices: dict[str, str]
) -> None:
    cus = customer(client, clock=True)
    lines = [{"price": prices["seat"], "quantity": 3}, {"price": prices["calls"]}]
    checkout = session(client, cus, prices["seat"], line_items=lines)
    assert checkout.amount_total == 3 * 1500  # usage is not known yet
    done = requests.post(
        f"{stripe_emulator.url}/_emulator/checkout/{checkout.id}/complete", timeout=5
    ).json()
    sub = client.v1.subscriptions.retrieve(done["subscription"])
    quantities = {i.price.id: i.to_dict().get("quantity") for i in sub["items"].data}
    assert quantities == {prices["seat"]: 3, prices["calls"]: None}
    first = client.v1.invoices.retrieve(str(sub.latest_invoice))
    assert first.amount_paid == 4500

    for value in ("120", "30"):
        client.v1.billing.meter_events.create(
            {"event_name": "api_calls", "payload": {"stripe_customer_id": cus, "value": value}}
        )
    clock = client.v1.customers.retrieve(cus).test_clock
    client.v1.test_helpers.test_clocks.advance(str(clock), {"frozen_time": DEC})
    renewal = client.v1.invoices.retrieve(
        str(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    )
    usage = [ln for ln in renewal.lines.data if ln.pricing.price_details.price == prices["calls"]]
    assert [(ln.quantity, ln.amount) for ln in usage] == [(150, 150 * 2)]
    assert renewal.amount_paid == 3 * 1500 + 300


def test_line_item_quantities_are_checked_like_stripe(
    client: stripe.StripeClient, prices: dict[str, str]
) -> None:
    cus = customer(client)
    metered = [
        {"price": prices["seat"], "quantity": 1},
        {"price": prices["calls"], "quantity": 1},
    ]
    err = refused(lambda: session(client, cus, prices["seat"], line_items=metered))
    assert err.param == "line_items[1][quantity]"
    assert "metered" in str(err.user_message)
    missing = refused(
        lambda: session(client, cus, prices["seat"], line_items=[{"price": prices["seat"]}])
    )
    assert missing.param == "line_items[0]"
    assert missing.user_message == "Quantity is required. Add `quantity` to `line_items[0]`"


def test_sessions_list_by_customer_and_status(
    client: stripe.StripeClient, prices: dict[str, str]
) -> None:
    alice, bob = customer(client), customer(client)
    kept = session(client, alice, prices["seat"])
    gone = session(client, alice, prices["seat"])
    session(client, bob, prices["seat"])
    client.v1.checkout.sessions.expire(gone.id)

    def ids(**filters: str) -> list[str]:
        params: Any = filters
        return [s.id for s in client.v1.checkout.sessions.list(params)]

    assert ids(customer=alice, status="open") == [kept.id]
    assert ids(customer=alice, status="expired") == [gone.id]
    assert ids(customer=alice) == [gone.id, kept.id]
    assert len(ids(status="open")) == 2


def test_an_expired_session_cannot_be_paid(
    client: stripe.StripeClient, stripe_emulator: Any, prices: dict[str, str]
) -> None:
    cus = customer(client)
    checkout = session(client, cus, prices["seat"])
    expired = client.v1.checkout.sessions.expire(checkout.id)
    assert (expired.status, expired.url) == ("expired", None)
    page = requests.post(checkout.url, data={"payment_method": "pm_card_visa"}, timeout=5)
    assert page.status_code == 400
    helper = requests.post(
        f"{stripe_emulator.url}/_emulator/checkout/{checkout.id}/complete", timeout=5
    )
    assert helper.status_code == 400
    assert helper.json()["error"]["type"] == "invalid_request_error"
    assert list(client.v1.subscriptions.list({"customer": cus, "status": "all"})) == []
    assert list(client.v1.events.list({"type": "checkout.session.completed"})) == []
    assert client.v1.checkout.sessions.retrieve(checkout.id).status == "expired"
    again = refused(lambda: client.v1.checkout.sessions.expire(checkout.id))
    assert again.user_message == "Only Checkout Sessions with a status of `open` can be expired."


def test_a_completed_session_cannot_be_expired(
    client: stripe.StripeClient, stripe_emulator: Any, prices: dict[str, str]
) -> None:
    checkout = session(client, customer(client), prices["seat"])
    requests.post(f"{stripe_emulator.url}/_emulator/checkout/{checkout.id}/complete", timeout=5)
    err = refused(lambda: client.v1.checkout.sessions.expire(checkout.id))
    assert err.user_message == "Only Checkout Sessions with a status of `open` can be expired."
    assert client.v1.checkout.sessions.retrieve(checkout.id).status == "complete"


def test_ui_modes(client: stripe.StripeClient, prices: dict[str, str]) -> None:
    cus = customer(client)
    hosted = session(client, cus, prices["seat"])
    assert (hosted.ui_mode, hosted.client_secret) == ("hosted_page", None)
    assert hosted.url
    embedded = client.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "customer": cus,
            "ui_mode": "embedded_page",
            "return_url": "https://app.example/back?session={CHECKOUT_SESSION_ID}",
            "line_items": [{"price": prices["seat"], "quantity": 1}],
        }
    )
    assert (embedded.ui_mode, embedded.url) == ("embedded_page", None)
    assert str(embedded.client_secret).startswith(embedded.id + "_secret_")
    elements = client.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "customer": cus,
            "ui_mode": "elements",
            "line_items": [{"price": prices["seat"], "quantity": 1}],
        }
    )
    assert (elements.ui_mode, elements.url) == ("elements", None)
    assert elements.client_secret
    err = refused(lambda: session(client, cus, prices["seat"], ui_mode="embedded_page"))
    assert err.param == "success_url"  # a page of the app has no redirect to Stripe's page
    assert refused(lambda: session(client, cus, prices["seat"], ui_mode="hosted")).param == (
        "ui_mode"
    )


# --- the payments of an invoice, refunds ---------------------------------------------------


def paid_invoice(client: stripe.StripeClient, price: str) -> Any:
    cus = customer(client)
    pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": cus})
    client.v1.customers.update(cus, {"invoice_settings": {"default_payment_method": pm.id}})
    sub = client.v1.subscriptions.create(
        {"customer": cus, "items": [{"price": price, "quantity": 2}]}
    )
    return client.v1.invoices.retrieve(str(sub.latest_invoice))


def test_an_invoice_is_paid_by_a_payment_intent(
    client: stripe.StripeClient, stripe_emulator: Any, prices: dict[str, str]
) -> None:
    invoice = paid_invoice(client, prices["seat"])
    payments = list(client.v1.invoice_payments.list({"invoice": invoice.id}))
    assert len(payments) == 1
    payment = payments[0]
    assert (payment.status, payment.amount_paid, payment.amount_requested) == ("paid", 3000, 3000)
    assert (payment.is_default, payment.payment.type) == (True, "payment_intent")
    intent = client.v1.payment_intents.retrieve(str(payment.payment.payment_intent))
    assert (intent.status, intent.amount, intent.amount_received) == ("succeeded", 3000, 3000)
    assert intent.customer == invoice.customer
    charged = [e.data.object for e in client.v1.events.list({"type": "charge.succeeded"})]
    assert [(c.id, c.payment_intent) for c in charged] == [(intent.latest_charge, intent.id)]
    for kind, path in (
        ("invoice_payment", f"/v1/invoice_payments/{payment.id}"),
        ("payment_intent", f"/v1/payment_intents/{intent.id}"),
    ):
        assert missing_keys(REFERENCE[kind], raw(stripe_emulator.url, path)) == []


def test_retries_use_the_invoices_one_payment_intent(
    client: stripe.StripeClient, prices: dict[str, str]
) -> None:
    cus = customer(client)
    bad = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": cus})
    client.v1.customers.update(cus, {"invoice_settings": {"default_payment_method": bad.id}})
    sub = client.v1.subscriptions.create(
        {"customer": cus, "items": [{"price": prices["seat"], "quantity": 1}]}
    )
    invoice = str(sub.latest_invoice)
    (payment,) = client.v1.invoice_payments.list({"invoice": invoice})
    intent = client.v1.payment_intents.retrieve(str(payment.payment.payment_intent))
    assert (payment.status, intent.status) == ("open", "requires_payment_method")
    assert intent.last_payment_error.code == "card_declined"
    good = client.v1.payment_methods.attach("pm_card_visa", {"customer": cus})
    client.v1.invoices.pay(invoice, {"payment_method": good.id})
    (payment,) = client.v1.invoice_payments.list({"invoice": invoice})
    assert (payment.status, payment.payment.payment_intent) == ("paid", intent.id)
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"
    assert len(list(client.v1.invoice_payments.list({"invoice": invoice, "status": "paid"}))) == 1


def test_refunds_up_to_what_was_charged(
    client: stripe.StripeClient, stripe_emulator: Any, prices: dict[str, str]
) -> None:
    invoice = paid_invoice(client, prices["seat"])
    (payment,) = client.v1.invoice_payments.list({"invoice": invoice.id})
    intent = client.v1.payment_intents.retrieve(str(payment.payment.payment_intent))
    charge_id = str(intent.latest_charge)

    first = client.v1.refunds.create(
        {"payment_intent": intent.id, "amount": 1000, "reason": "requested_by_customer"}
    )
    assert (first.amount, first.charge, first.payment_intent) == (1000, charge_id, intent.id)
    assert (first.status, first.reason, first.currency) == (
        "succeeded",
        "requested_by_customer",
        "usd",
    )
    charge = client.v1.refunds.retrieve(first.id, {"expand": ["charge"]}).charge
    assert (charge.amount_refunded, charge.refunded) == (1000, False)
    assert [r.id for r in charge.refunds.data] == [first.id]

    too_much = refused(lambda: client.v1.refunds.create({"charge": charge_id, "amount": 2001}))
    assert (too_much.code, too_much.param) == ("amount_too_large", "amount")
    assert too_much.user_message == (
        "Refund amount ($20.01) is greater than unrefunded amount on charge ($20.00)"
    )
    rest = client.v1.refunds.create({"charge": charge_id, "metadata": {"ticket": "42"}})
    assert (rest.amount, rest.metadata.to_dict()) == (2000, {"ticket": "42"})
    charge = client.v1.refunds.retrieve(rest.id, {"expand": ["charge"]}).charge
    assert (charge.amount_refunded, charge.refunded) == (3000, True)
    again = refused(lambda: client.v1.refunds.create({"charge": charge_id}))
    assert again.code == "charge_already_refunded"

    assert [r.id for r in client.v1.refunds.list({"charge": charge_id})] == [rest.id, first.id]
    refunded = [e.data for e in client.v1.events.list({"type": "charge.refunded"})]
    assert [d.object.amount_refunded for d in refunded] == [3000, 1000]
    assert refunded[1].previous_attributes.amount_refunded == 0
    assert len(list(client.v1.events.list({"type": "refund.created"}))) == 2
    assert (
        missing_keys(REFERENCE["refund"], raw(stripe_emulator.url, f"/v1/refunds/{rest.id}")) == []
    )
    assert refused(lambda: client.v1.refunds.create({"amount": 100})).http_status == 400
