"""The Stripe emulator's hosted pages in a real browser: pay on Checkout after a declined
card, then change the card and cancel in the billing portal."""

# The SDK types expandable and optional fields as unions; this test knows what they hold.
# mypy: disable-error-code="union-attr"

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe
from playwright.sync_api import Page, expect

from stripe_emulator.server import EmulatorServer


@pytest.fixture
def site() -> Iterator[str]:
    """The app's side of the redirects: a tiny local site answering every GET with its path."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            body = f"<!doctype html><title>App</title><h1>App page {self.path}</h1>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def sdk(emulator: EmulatorServer) -> stripe.StripeClient:
    return stripe.StripeClient(
        "sk_test_emulator", base_addresses={"api": emulator.url}, max_network_retries=0
    )


def test_checkout_then_portal_in_a_browser(
    browser_page: Page, stripe_emulator: EmulatorServer, site: str
) -> None:
    page, client = browser_page, sdk(stripe_emulator)
    product = client.v1.products.create({"name": "Browser plan"})
    price = client.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 1200,
            "recurring": {"interval": "month"},
        }
    )
    customer = client.v1.customers.create({"email": "browser@example.com"})
    session = client.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": price.id, "quantity": 2}],
            "success_url": site + "/ok?session={CHECKOUT_SESSION_ID}",
            "cancel_url": site + "/cancel",
        }
    )
    assert session.url

    # Checkout: a card declined at once, then one that pays.
    page.goto(session.url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Subscribe to Browser plan")
    expect(page.locator("body")).to_contain_text("$12.00 per seat / month × 2 seats")
    expect(page.locator("body")).to_contain_text("Due today: $24.00")
    page.check("input[value='pm_card_chargeDeclined']")
    page.click("#pay")
    expect(page.get_by_role("alert")).to_have_text("Your card was declined.")
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    page.check("input[value='pm_card_visa']")
    page.click("#pay")
    page.wait_for_url(f"{site}/ok?session={session.id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"/ok?session={session.id}")
    assert client.v1.checkout.sessions.retrieve(session.id).status == "complete"

    # The billing portal: change the card, cancel, renew, go back.
    portal = client.v1.billing_portal.sessions.create(
        {"customer": customer.id, "return_url": site + "/account"}
    )
    page.goto(portal.url)
    expect(page.locator("#default-card")).to_contain_text("Visa •••• 4242")
    expect(page.locator("body")).to_contain_text("Status: active")
    page.check("input[value='pm_card_mastercard']")
    page.get_by_role("button", name="Update card").click()
    expect(page.get_by_role("status")).to_have_text("Card updated: Mastercard ending in 4444.")
    expect(page.locator("#default-card")).to_contain_text("Mastercard •••• 4444")
    default = client.v1.customers.retrieve(customer.id).invoice_settings.default_payment_method
    assert default is not None
    assert client.v1.payment_methods.retrieve(str(default)).card.last4 == "4444"

    page.get_by_role("button", name="Cancel subscription").click()
    expect(page.get_by_role("status")).to_contain_text("Your subscription will be canceled on")
    expect(page.locator("body")).to_contain_text("Cancels on")
    subscription = client.v1.subscriptions.list({"customer": customer.id}).data[0]
    assert subscription.cancel_at_period_end is True

    page.get_by_role("button", name="Renew (don't cancel)").click()
    expect(page.get_by_role("status")).to_contain_text("Your subscription will continue")
    expect(page.get_by_role("button", name="Cancel subscription")).to_be_visible()
    assert client.v1.subscriptions.retrieve(subscription.id).cancel_at_period_end is False

    page.get_by_role("link", name=re.compile("Return to")).click()
    page.wait_for_url(f"{site}/account")
