"""Every object the emulator returns has (at least) every key of Stripe's own fixture for it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import stripe

from stripe_emulator import fixtures
from tests.support.emulator import FIXTURES, REFERENCE, missing_keys, raw

PACKAGE = Path(fixtures.__file__).parent


def _world(url: str) -> dict[str, Callable[[], dict[str, Any]]]:
    """Builds one of each object through the SDK; maps fixture name -> raw JSON getter."""
    clock = stripe.test_helpers.TestClock.create(frozen_time=1_700_000_000)
    customer = stripe.Customer.create(email="s@example.com", test_clock=clock.id)
    pm = stripe.PaymentMethod.attach("pm_card_visa", customer=customer.id)
    stripe.Customer.modify(customer.id, invoice_settings={"default_payment_method": pm.id})
    meter = stripe.billing.Meter.create(
        display_name="API calls", event_name="api_call", default_aggregation={"formula": "sum"}
    )
    product = stripe.Product.create(name="Shapes")
    price = stripe.Price.create(
        product=product.id, currency="usd", unit_amount=1000, recurring={"interval": "month"}
    )
    price2 = stripe.Price.create(
        product=product.id, currency="usd", unit_amount=2000, recurring={"interval": "month"}
    )
    sub = stripe.Subscription.create(customer=customer.id, items=[{"price": price.id}])
    stripe.test_helpers.TestClock.advance(clock.id, frozen_time=1_700_000_000 + 86400 * 10)
    stripe.Subscription.modify(sub.id, items=[{"id": sub["items"].data[0].id, "price": price2.id}])
    item = stripe.InvoiceItem.list(customer=customer.id).data[0]
    session = stripe.checkout.Session.create(
        mode="subscription",
        success_url="https://x/s",
        line_items=[{"price": price.id, "quantity": 1}],
    )
    portal = stripe.billing_portal.Session.create(customer=customer.id, return_url="https://x")
    endpoint = stripe.WebhookEndpoint.create(url="http://127.0.0.1:9/x", enabled_events=["*"])
    meter_event = stripe.billing.MeterEvent.create(
        event_name="api_call", payload={"stripe_customer_id": customer.id, "value": "3"}
    )
    charge_event = stripe.Event.list(type="charge.succeeded").data[0]
    deleted_product = stripe.Product.delete(stripe.Product.create(name="gone").id)
    return {
        "customer": lambda: raw(url, f"/v1/customers/{customer.id}"),
        "product": lambda: raw(url, f"/v1/products/{product.id}"),
        "price": lambda: raw(url, f"/v1/prices/{price.id}"),
        "subscription": lambda: raw(url, f"/v1/subscriptions/{sub.id}"),
        "subscription_item": lambda: raw(url, f"/v1/subscription_items/{sub['items'].data[0].id}"),
        "invoice": lambda: raw(url, f"/v1/invoices/{sub.latest_invoice}"),
        "line_item": lambda: raw(url, f"/v1/invoices/{sub.latest_invoice}/lines")["data"][0],
        "invoiceitem": lambda: raw(url, f"/v1/invoiceitems/{item.id}"),
        "checkout.session": lambda: raw(url, f"/v1/checkout/sessions/{session.id}"),
        "billing_portal.session": lambda: dict(portal.to_dict()),
        "event": lambda: raw(url, f"/v1/events/{charge_event.id}"),
        "charge": lambda: raw(url, f"/v1/events/{charge_event.id}")["data"]["object"],
        "test_helpers.test_clock": lambda: raw(url, f"/v1/test_helpers/test_clocks/{clock.id}"),
        "billing.meter": lambda: raw(url, f"/v1/billing/meters/{meter.id}"),
        "billing.meter_event": lambda: dict(meter_event.to_dict()),
        "payment_method": lambda: raw(url, f"/v1/payment_methods/{pm.id}"),
        "webhook_endpoint": lambda: raw(url, f"/v1/webhook_endpoints/{endpoint.id}"),
        "deleted_product": lambda: dict(deleted_product.to_dict()),
    }


KINDS = [
    "customer",
    "product",
    "price",
    "subscription",
    "subscription_item",
    "invoice",
    "line_item",
    "invoiceitem",
    "checkout.session",
    "billing_portal.session",
    "event",
    "charge",
    "test_helpers.test_clock",
    "billing.meter",
    "billing.meter_event",
    "payment_method",
    "webhook_endpoint",
    "deleted_product",
]


@pytest.fixture(scope="module")
def one_of_each(_stripe_emulator: Any) -> dict[str, dict[str, Any]]:
    # Module-scoped and outside stripe_client's reset: configure the SDK by hand once.
    saved = stripe.api_key, stripe.api_base
    stripe.api_key, stripe.api_base = "sk_test_shapes", _stripe_emulator.url
    try:
        _stripe_emulator.reset()
        return {kind: get() for kind, get in _world(_stripe_emulator.url).items()}
    finally:
        stripe.api_key, stripe.api_base = saved


@pytest.mark.parametrize("kind", KINDS)
def test_object_has_every_fixture_key(one_of_each: dict[str, dict[str, Any]], kind: str) -> None:
    assert one_of_each[kind]["object"] == REFERENCE[kind]["object"]
    assert missing_keys(REFERENCE[kind], one_of_each[kind]) == []


def test_nested_current_shapes(one_of_each: dict[str, dict[str, Any]]) -> None:
    sub, inv = one_of_each["subscription"], one_of_each["invoice"]
    item = sub["items"]["data"][0]
    assert missing_keys(REFERENCE["subscription_item"], item) == []
    assert "current_period_end" in item
    assert "current_period_end" not in sub
    assert missing_keys(REFERENCE["line_item"], inv["lines"]["data"][0]) == []
    assert inv["lines"]["data"][0]["pricing"]["type"] == "price_details"
    assert inv["parent"]["subscription_details"]["subscription"] == sub["id"]


def test_vendored_shapes_match_the_reference() -> None:
    vendored = json.loads(fixtures.VENDORED.read_text())
    assert "MIT" in vendored["_license"]
    used = set(
        re.findall(r'shape\("([\w.]+)"\)', "".join(p.read_text() for p in PACKAGE.rglob("*.py")))
    )
    assert used <= set(vendored["resources"])
    if FIXTURES != fixtures.VENDORED:  # the shared copy is present: the vendored one is a subset
        for kind, obj in vendored["resources"].items():
            assert obj == REFERENCE[kind], kind
