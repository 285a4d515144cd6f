"""Core API behaviour through the official SDK over HTTP: CRUD, errors, idempotency, lists."""

# The SDK types expandable fields as `str | Object | None`; these tests know what they expanded.
# mypy: disable-error-code="union-attr,arg-type,index,operator"

from __future__ import annotations

from typing import Any

import pytest
import requests
import stripe


def test_customer_round_trip_and_metadata(stripe_client: stripe.StripeClient) -> None:
    c = stripe.Customer.create(email="a@example.com", name="Ann", metadata={"org": "1", "x": "y"})
    assert c.id.startswith("cus_")
    assert c.object == "customer"
    got = stripe.Customer.retrieve(c.id)
    assert (got.email, got.name, got.metadata.to_dict()) == (
        "a@example.com",
        "Ann",
        {"org": "1", "x": "y"},
    )
    upd = stripe.Customer.modify(c.id, name="Anne", metadata={"x": "", "new": "v"})
    assert upd.name == "Anne"
    assert upd.metadata.to_dict() == {"org": "1", "new": "v"}
    assert stripe.Customer.modify(c.id, metadata="").metadata.to_dict() == {}
    assert [x.id for x in stripe.Customer.list(email="a@example.com")] == [c.id]
    deleted = stripe.Customer.delete(c.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Customer.retrieve(c.id)


def test_stripe_client_style(stripe_client: stripe.StripeClient) -> None:
    c = stripe_client.v1.customers.create({"email": "b@example.com"})
    assert stripe_client.v1.customers.retrieve(c.id).email == "b@example.com"


def test_product_and_price_lookup_keys(stripe_client: stripe.StripeClient) -> None:
    product = stripe.Product.create(name="Pro", metadata={"tier": "pro"})
    p1 = stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=1500,
        recurring={"interval": "month", "interval_count": 3},
        lookup_key="pro",
    )
    assert (p1.unit_amount, p1.recurring.interval_count, p1.type) == (1500, 3, "recurring")
    with pytest.raises(stripe.InvalidRequestError) as err:
        stripe.Price.create(
            product=product.id,
            currency="usd",
            unit_amount=1,
            lookup_key="pro",
            recurring={"interval": "month"},
        )
    assert err.value.param == "lookup_key"
    p2 = stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=2000,
        recurring={"interval": "year"},
        lookup_key="pro",
        transfer_lookup_key=True,
    )
    found = stripe.Price.list(lookup_keys=["pro"])
    assert [p.id for p in found] == [p2.id]
    assert stripe.Price.retrieve(p1.id).lookup_key is None
    stripe.Price.modify(p1.id, active=False)
    assert [p.id for p in stripe.Price.list(active=False)] == [p1.id]
    assert stripe.Product.modify(product.id, name="Pro+").name == "Pro+"
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Product.delete(product.id)  # it has prices, as on Stripe
    assert stripe.Product.delete(stripe.Product.create(name="tmp").id).deleted


def test_payment_methods(stripe_client: stripe.StripeClient) -> None:
    c = stripe.Customer.create()
    pm = stripe.PaymentMethod.attach("pm_card_visa", customer=c.id)
    assert pm.customer == c.id
    assert pm.card.last4 == "4242"
    assert pm.id != "pm_card_visa"
    with pytest.raises(stripe.CardError) as err:
        stripe.PaymentMethod.attach("pm_card_chargeDeclined", customer=c.id)
    assert (err.value.code, err.value.error.decline_code) == ("card_declined", "generic_decline")
    assert err.value.http_status == 402
    bad = stripe.PaymentMethod.attach("pm_card_chargeCustomerFail", customer=c.id)
    assert bad.card.last4 == "0341"
    c = stripe.Customer.modify(c.id, invoice_settings={"default_payment_method": pm.id})
    assert c.invoice_settings.default_payment_method == pm.id
    assert {p.id for p in stripe.PaymentMethod.list(customer=c.id, type="card")} == {pm.id, bad.id}
    stripe.PaymentMethod.detach(pm.id)
    assert stripe.Customer.retrieve(c.id).invoice_settings.default_payment_method is None
    other = stripe.PaymentMethod.create(type="card", card={"token": "tok_mastercard"})
    with pytest.raises(stripe.InvalidRequestError) as bad_default:
        stripe.Customer.modify(c.id, invoice_settings={"default_payment_method": other.id})
    assert bad_default.value.param == "invoice_settings[default_payment_method]"


def test_errors_missing_param_and_resource(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        stripe.Subscription.create(items=[{"price": "price_x"}])
    assert (err.value.http_status, err.value.param, err.value.code) == (
        400,
        "customer",
        "parameter_missing",
    )
    c = stripe.Customer.create()
    with pytest.raises(stripe.InvalidRequestError) as err:
        stripe.Subscription.create(customer=c.id, items=[{"price": "price_nope"}])
    assert (err.value.param, err.value.code) == ("items[0][price]", "resource_missing")
    with pytest.raises(stripe.InvalidRequestError) as err:
        stripe.Customer.retrieve("cus_missing")
    assert (err.value.http_status, err.value.code) == (404, "resource_missing")
    assert (err.value.json_body or {})["error"]["type"] == "invalid_request_error"


def test_auth_required(stripe_emulator: Any, stripe_client: stripe.StripeClient) -> None:
    url = stripe_emulator.url + "/v1/customers"
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer nope"}):
        reply = requests.get(url, headers=headers, timeout=5)
        assert reply.status_code == 401
        assert reply.json()["error"]["type"] == "invalid_request_error"
    with pytest.raises(stripe.AuthenticationError):
        stripe.Customer.list(api_key="not_a_key")
    ok = requests.get(url, auth=("sk_test_curl", ""), timeout=5)  # curl -u sk_...: style
    assert ok.status_code == 200
    assert ok.json()["object"] == "list"


def test_idempotency(stripe_emulator: Any, stripe_client: stripe.StripeClient) -> None:
    a = stripe.Customer.create(email="i@example.com", idempotency_key="k1")
    b = stripe.Customer.create(email="i@example.com", idempotency_key="k1")
    assert a.id == b.id
    assert len(stripe.Customer.list(email="i@example.com").data) == 1
    headers = {"Authorization": "Bearer sk_test_x", "Idempotency-Key": "k2"}
    url = stripe_emulator.url + "/v1/customers"
    first = requests.post(url, data={"email": "j@example.com"}, headers=headers, timeout=5)
    again = requests.post(url, data={"email": "j@example.com"}, headers=headers, timeout=5)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert "Idempotent-Replayed" not in first.headers
    with pytest.raises(stripe.IdempotencyError) as err:
        stripe.Customer.create(email="other@example.com", idempotency_key="k1")
    assert err.value.http_status == 400
    assert (err.value.json_body or {})["error"]["type"] == "idempotency_error"


def test_list_pagination(stripe_client: stripe.StripeClient) -> None:
    ids = [stripe.Product.create(name=f"p{i}").id for i in range(7)]
    newest_first = list(reversed(ids))
    page = stripe.Product.list(limit=3)
    assert [p.id for p in page] == newest_first[:3]
    assert page.has_more
    assert page.url == "/v1/products"
    assert page["object"] == "list"
    page2 = stripe.Product.list(limit=3, starting_after=page.data[-1].id)
    assert [p.id for p in page2] == newest_first[3:6]
    assert page2.has_more
    last = stripe.Product.list(limit=3, starting_after=page2.data[-1].id)
    assert [p.id for p in last] == newest_first[6:]
    assert not last.has_more
    before = stripe.Product.list(limit=2, ending_before=newest_first[3])
    assert [p.id for p in before] == newest_first[1:3]
    assert before.has_more
    assert [p.id for p in stripe.Product.list(limit=2).auto_paging_iter()] == newest_first
    assert [p.id for p in stripe.Product.list(ids=ids[:2])] == ids[1::-1]


def test_expand(stripe_client: stripe.StripeClient, plans: dict[str, Any]) -> None:
    c = stripe.Customer.create(payment_method="pm_card_visa")
    pm = stripe.PaymentMethod.list(customer=c.id).data[0]
    sub = stripe.Subscription.create(
        customer=c.id,
        items=[{"price": plans["basic"].id}],
        default_payment_method=pm.id,
        expand=["latest_invoice", "customer", "items.data.price.product"],
    )
    assert sub.latest_invoice.object == "invoice"
    assert sub.customer.id == c.id
    assert sub.items.data[0].price.product.name == "SaaS plan"
    inv = stripe.Invoice.retrieve(sub.latest_invoice.id, expand=["subscription"])
    assert inv["subscription"].id == sub.id
    listed = stripe.Subscription.list(customer=c.id, expand=["data.customer"])
    assert listed.data[0].customer.id == c.id


def test_unknown_route_is_404(stripe_emulator: Any, stripe_client: stripe.StripeClient) -> None:
    reply = requests.get(stripe_emulator.url + "/v1/nothing", auth=("sk_test_x", ""), timeout=5)
    assert reply.status_code == 404
    assert "Unrecognized request URL" in reply.text


def test_an_invoice_with_a_pending_invoice_item_has_its_line(
    stripe_client: stripe.StripeClient,
) -> None:
    """A one-off invoice item becomes a line whose parent is `invoice_item_details` (this
    used to be a 500: the line's parent was built with that key twice)."""
    customer = stripe_client.v1.customers.create({"email": "a@example.test"})
    item = stripe_client.v1.invoice_items.create(
        {"customer": customer.id, "amount": 500, "currency": "usd", "description": "Setup"}
    )
    invoice = stripe_client.v1.invoices.create(
        {"customer": customer.id, "pending_invoice_items_behavior": "include"}
    )
    line = invoice.lines.data[0].to_dict()
    assert (line["amount"], line["parent"]["type"]) == (500, "invoice_item_details")
    assert line["parent"]["invoice_item_details"]["invoice_item"] == item.id
    assert invoice.amount_due == 500


def test_links_to_hosted_pages_use_the_public_url_when_given() -> None:
    """In docker compose the app reaches the emulator as `stripe:12111` but a person's
    browser as `localhost:12111`: Checkout links must be the latter."""
    from stripe_emulator.server import EmulatorServer

    server = EmulatorServer(port=0, public_url="http://localhost:12111/").start()
    try:
        client = stripe.StripeClient(
            "sk_test_x", base_addresses={"api": server.url}, max_network_retries=0
        )
        customer = client.v1.customers.create({"email": "a@example.test"})
        product = client.v1.products.create({"name": "Pro"})
        price = client.v1.prices.create(
            {
                "product": product.id,
                "unit_amount": 1900,
                "currency": "usd",
                "recurring": {"interval": "month"},
            }
        )
        session = client.v1.checkout.sessions.create(
            {
                "mode": "subscription",
                "customer": customer.id,
                "line_items": [{"price": price.id, "quantity": 1}],
                "success_url": "http://example.test/ok",
            }
        )
        assert (session.url or "").startswith("http://localhost:12111/c/pay/")
    finally:
        server.stop()
