"""The hosted pages as a person uses them, over raw HTTP: Checkout (plan, prices, trial,
test cards, declines) and the billing portal (subscriptions, card, invoices, cancel); objects
are set up, and results checked, through the SDK."""

# The SDK types expandable fields as `str | Object | None`; these tests know what they hold.
# mypy: disable-error-code="union-attr,arg-type,index"

from __future__ import annotations

import html
import re
from typing import Any

import pytest
import requests
import stripe

from stripe_emulator.payments import CARDS

T0 = 1_700_000_000  # 14 Nov 2023 22:13:20 UTC
DAY = 86400
APP = "https://app.example"


@pytest.fixture
def client(stripe_client: stripe.StripeClient) -> stripe.StripeClient:
    return stripe_client


def price(client: stripe.StripeClient, name: str, amount: int, interval: str = "month") -> Any:
    product = client.v1.products.create({"name": name})
    return client.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": amount,
            "recurring": {"interval": interval},
        }
    )


def customer(client: stripe.StripeClient, card: str | None = None, **extra: Any) -> Any:
    """A customer living at T0 (a test clock), with `card` as the default payment method."""
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": T0})
    params: Any = {"email": "buyer@example.com", "test_clock": clock.id, **extra}
    if card:
        params.update(payment_method=card, invoice_settings={"default_payment_method": card})
    return client.v1.customers.create(params)


def checkout(client: stripe.StripeClient, cus: Any, price_id: str, **extra: Any) -> Any:
    params: Any = {
        "mode": "subscription",
        "customer": cus.id,
        "line_items": [{"price": price_id, "quantity": 3}],
        "success_url": APP + "/ok?session={CHECKOUT_SESSION_ID}",
        "cancel_url": APP + "/cancel",
        **extra,
    }
    return client.v1.checkout.sessions.create(params)


def get(url: str) -> requests.Response:
    reply = requests.get(url, timeout=10)
    assert reply.headers["Content-Type"].startswith("text/html")
    return reply


def post(url: str, **form: str) -> requests.Response:
    return requests.post(url, data=form, allow_redirects=False, timeout=10)


def text(reply: requests.Response) -> str:
    """The page's words, tags removed and entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", reply.text))


def words(reply: requests.Response) -> str:
    """The page's words on one line, as read (no space before punctuation)."""
    return re.sub(r" ([,.;:])", r"\1", " ".join(text(reply).split()))


def event_types(client: stripe.StripeClient, seen: set[str]) -> list[str]:
    """Types of the events not in `seen`, oldest first."""
    events = client.v1.events.list({"limit": 100}).data
    return [ev.type for ev in reversed(events) if ev.id not in seen]


def event_ids(client: stripe.StripeClient) -> set[str]:
    return {ev.id for ev in client.v1.events.list({"limit": 100}).data}


# --- Checkout --------------------------------------------------------------------------------


def test_checkout_page_shows_plan_price_trial_and_test_cards(client: stripe.StripeClient) -> None:
    team = price(client, "Team plan", 1500)
    session = checkout(
        client, customer(client), team.id, subscription_data={"trial_period_days": 14}
    )
    page = get(session.url)
    assert page.status_code == 200
    shown = words(page)
    assert "Subscribe to Team plan" in shown
    assert "$15.00 per seat / month × 3 seats = $45.00 / month" in shown
    assert "Free trial: 14 days. Nothing is charged until 28 Nov 2023." in shown
    assert "Due today: $0.00" in shown
    assert "Then $45.00 every month, first charged on 28 Nov 2023." in shown
    assert "Start trial" in shown
    for name in CARDS:
        assert f"type='radio' name='payment_method' value='pm_card_{name}'" in page.text
    assert "value='pm_card_visa' checked" in page.text
    assert "pm_card_chargeDeclined: declined at once (Your card was declined.)" in shown
    assert "pm_card_chargeCustomerFail: is saved, but charging it fails" in shown
    assert f"href='{APP}/cancel'" in page.text


def test_checkout_page_without_trial_charges_today(client: stripe.StripeClient) -> None:
    yearly = price(client, "Scale", 30000, "year")
    page = words(get(checkout(client, customer(client), yearly.id).url))
    assert "$300.00 per seat / year × 3 seats = $900.00 / year" in page
    assert "Due today: $900.00" in page
    assert "Then $900.00 every year, next charged on 14 Nov 2024." in page
    assert "Pay $900.00" in page
    assert "Free trial" not in page


def test_checkout_page_with_a_metered_price(client: stripe.StripeClient) -> None:
    meter = client.v1.billing.meters.create(
        {
            "display_name": "API calls",
            "event_name": "api_calls",
            "default_aggregation": {"formula": "sum"},
        }
    )
    product = client.v1.products.create({"name": "API"})
    calls = client.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 2,
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
        }
    )
    session = checkout(client, customer(client), calls.id, line_items=[{"price": calls.id}])
    page = words(get(session.url))
    assert "$0.02 per unit used / month, billed at the end of each period" in page
    assert "Due today: $0.00" in page
    assert "Then what you use, billed every month" in page


def test_a_declined_card_keeps_the_session_open_then_visa_pays(
    client: stripe.StripeClient,
) -> None:
    basic = price(client, "Basic", 1000)
    session = checkout(client, customer(client), basic.id)
    declined = post(session.url, payment_method="pm_card_chargeDeclined")
    assert declined.status_code == 402
    assert "Your card was declined." in words(declined)
    assert "role='alert'" in declined.text
    assert "value='pm_card_chargeDeclined' checked" in declined.text  # what was tried
    assert "id='pay'" in declined.text  # the form is still there, to try another card
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    assert client.v1.subscriptions.list({"customer": session.customer}).data == []

    later = post(session.url, payment_method="pm_card_chargeCustomerFail")
    assert later.status_code == 402  # saved, but the first charge fails: nothing is created
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"

    paid = post(session.url, payment_method="pm_card_visa")
    assert paid.status_code == 303
    assert paid.headers["Location"] == f"{APP}/ok?session={session.id}"
    done = client.v1.checkout.sessions.retrieve(session.id, {"expand": ["subscription"]})
    assert (done.status, done.payment_status, done.subscription.status) == (
        "complete",
        "paid",
        "active",
    )

    again = get(session.url)
    assert "This Checkout Session is complete" in words(again)
    assert "id='pay'" not in again.text
    assert post(session.url, payment_method="pm_card_visa").status_code == 400


def test_expired_and_unknown_sessions(stripe_emulator: Any, client: stripe.StripeClient) -> None:
    basic = price(client, "Basic", 1000)
    session = checkout(client, customer(client), basic.id)
    client.v1.checkout.sessions.expire(session.id)
    page = get(session.url)
    assert "This Checkout Session has expired" in words(page)
    assert f"href='{APP}/cancel'" in page.text
    paid = post(session.url, payment_method="pm_card_visa")
    assert paid.status_code == 400
    assert "no longer active" in words(paid)
    assert get(f"{stripe_emulator.url}/c/pay/cs_test_nope").status_code == 404
    assert get(f"{stripe_emulator.url}/p/session/bps_nope").status_code == 404


# --- the billing portal -----------------------------------------------------------------------


def portal(client: stripe.StripeClient, cus: Any, return_url: str = APP + "/account") -> str:
    session = client.v1.billing_portal.sessions.create(
        {"customer": cus.id, "return_url": return_url}
    )
    return str(session.url)


def subscribe(client: stripe.StripeClient, cus: Any, price_id: str, **extra: Any) -> Any:
    return client.v1.subscriptions.create(
        {"customer": cus.id, "items": [{"price": price_id, "quantity": 2}], **extra}
    )


def test_portal_shows_subscription_card_invoices_and_return_link(
    client: stripe.StripeClient,
) -> None:
    cus = customer(client, "pm_card_visa")
    pro = price(client, "Pro", 3000)
    sub = subscribe(client, cus, pro.id)
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    page = get(portal(client, cus))
    assert page.status_code == 200
    shown = words(page)
    assert "Pro" in shown
    assert "$30.00 per seat / month × 2 seats = $60.00 / month" in shown
    assert "Status: active" in shown
    assert "Current period ends 14 Dec 2023; renews automatically." in shown
    assert "Visa •••• 4242, expires 12/2034" in shown
    assert f"{invoice.number} 14 Nov 2023 $60.00 paid" in shown
    assert f"href='{invoice.hosted_invoice_url}'" in page.text
    assert "Cancel subscription" in shown
    assert sub.id in shown
    assert f"<a href='{APP}/account'>← Return to app.example</a>" in page.text


def test_changing_the_card_sets_the_default_and_emits_events(client: stripe.StripeClient) -> None:
    basic = price(client, "Basic", 1000)
    session = checkout(client, customer(client), basic.id)
    assert post(session.url, payment_method="pm_card_visa").status_code == 303
    sub_id = client.v1.checkout.sessions.retrieve(session.id).subscription
    cus = client.v1.customers.retrieve(session.customer)
    url = portal(client, cus)
    assert "Visa •••• 4242" in words(get(url))  # Checkout put the card on the subscription

    seen = event_ids(client)
    changed = post(url, action="update_card", payment_method="pm_card_mastercard")
    assert changed.status_code == 303
    assert changed.headers["Location"].endswith(url.removeprefix(url.split("/p/")[0]))
    cus = client.v1.customers.retrieve(cus.id)
    pm = client.v1.payment_methods.retrieve(cus.invoice_settings.default_payment_method)
    assert (pm.card.brand, pm.card.last4, pm.customer) == ("mastercard", "4444", cus.id)
    # The subscription's own card follows, or renewals would charge the old one.
    assert client.v1.subscriptions.retrieve(sub_id).default_payment_method == pm.id
    assert event_types(client, seen) == [
        "payment_method.attached",
        "customer.updated",
        "customer.subscription.updated",
    ]
    after = words(get(url))
    assert "Card updated: Mastercard ending in 4444." in after
    assert "Mastercard •••• 4444" in after
    assert "Card updated" not in words(get(url))  # the notice is shown once

    seen = event_ids(client)
    refused = post(url, action="update_card", payment_method="pm_card_chargeDeclined")
    assert refused.status_code == 402
    assert "Your card was declined." in words(refused)
    assert client.v1.customers.retrieve(cus.id).invoice_settings.default_payment_method == pm.id
    assert event_types(client, seen) == []


def test_paying_an_open_invoice_from_the_portal(client: stripe.StripeClient) -> None:
    cus = customer(client, "pm_card_chargeCustomerFail")
    client.v1.invoice_items.create(
        {"customer": cus.id, "amount": 2500, "currency": "usd", "description": "Setup"}
    )
    invoice = client.v1.invoices.create(
        {"customer": cus.id, "pending_invoice_items_behavior": "include"}
    )
    invoice = client.v1.invoices.finalize_invoice(invoice.id)
    url = portal(client, cus)
    page = get(url)
    assert f"{invoice.number} 14 Nov 2023 $25.00 open" in words(page)
    assert f"name='invoice' value='{invoice.id}'" in page.text

    declined = post(url, action="pay_invoice", invoice=invoice.id)
    assert declined.status_code == 402
    assert "Your card was declined." in words(declined)
    failed = client.v1.invoices.retrieve(invoice.id)
    assert (failed.status, failed.attempt_count) == ("open", 1)  # the attempt is recorded

    assert post(url, action="update_card", payment_method="pm_card_visa").status_code == 303
    seen = event_ids(client)
    paid = post(url, action="pay_invoice", invoice=invoice.id)
    assert paid.status_code == 303
    assert client.v1.invoices.retrieve(invoice.id).status == "paid"
    assert {"invoice.paid", "invoice.payment_succeeded", "charge.succeeded"} <= set(
        event_types(client, seen)
    )
    shown = words(get(url))
    assert f"Invoice {invoice.number} is paid ($25.00)." in shown
    assert f"{invoice.number} 14 Nov 2023 $25.00 paid" in shown
    assert post(url, action="pay_invoice", invoice=invoice.id).status_code == 400


def test_cancel_then_renew(client: stripe.StripeClient) -> None:
    cus = customer(client, "pm_card_visa")
    sub = subscribe(client, cus, price(client, "Pro", 3000).id)
    url = portal(client, cus)
    seen = event_ids(client)
    canceled = post(url, action="cancel", subscription=sub.id)
    assert canceled.status_code == 303
    after = client.v1.subscriptions.retrieve(sub.id)
    assert (after.cancel_at_period_end, after.status) == (True, "active")
    assert event_types(client, seen) == ["customer.subscription.updated"]
    shown = words(get(url))
    assert "Your subscription will be canceled on 14 Dec 2023." in shown
    assert "Cancels on 14 Dec 2023" in shown
    assert "Renew (don't cancel)" in shown

    seen = event_ids(client)
    assert post(url, action="renew", subscription=sub.id).status_code == 303
    assert client.v1.subscriptions.retrieve(sub.id).cancel_at_period_end is False
    assert event_types(client, seen) == ["customer.subscription.updated"]
    shown = words(get(url))
    assert "Your subscription will continue; it renews on 14 Dec 2023." in shown
    assert "Cancel subscription" in shown


def test_portal_refuses_other_customers_objects_and_unknown_actions(
    client: stripe.StripeClient,
) -> None:
    mine, theirs = customer(client, "pm_card_visa"), customer(client, "pm_card_visa")
    pro = price(client, "Pro", 3000)
    subscribe(client, mine, pro.id)
    other = subscribe(client, theirs, pro.id)
    url = portal(client, mine)
    refused = post(url, action="cancel", subscription=other.id)
    assert refused.status_code == 400
    assert f"No such subscription: '{other.id}'" in words(refused)
    assert client.v1.subscriptions.retrieve(other.id).cancel_at_period_end is False
    refused = post(url, action="pay_invoice", invoice=other.latest_invoice)
    assert refused.status_code == 400
    assert post(url, action="delete_everything").status_code == 400
    assert post(url, action="update_card", payment_method="pm_fake").status_code == 400


def test_values_are_html_escaped(client: stripe.StripeClient) -> None:
    evil = "<b>x</b>"
    cus = customer(client, "pm_card_visa", name="<script>alert(1)</script>")
    bold = price(client, evil, 1000)
    subscribe(client, cus, bold.id)
    pages = [
        get(checkout(client, cus, bold.id).url),
        get(portal(client, cus, APP + "/back?a=1&b='x'")),
    ]
    for page in pages:
        assert evil not in page.text
        assert "&lt;b&gt;x&lt;/b&gt;" in page.text
        assert "<script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[1].text
    assert f"href='{APP}/back?a=1&amp;b=&#x27;x&#x27;'" in pages[1].text
    # Only http(s) URLs become links.
    sneaky = get(portal(client, cus, "javascript:alert(1)"))
    assert "javascript:" not in sneaky.text
    assert "Return to" not in words(sneaky)
