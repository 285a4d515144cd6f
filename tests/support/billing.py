"""Paid subscriptions made the real way for tests: the catalog pushed to the emulator, the
tenant's customer made by the service, a card attached as the default payment method, the
subscription created on the emulator (optionally on a test clock) and mirrored with
subscription_apply; a Checkout completed on the emulator as the customer would."""

import time
from typing import Any

import requests
import stripe
from django.conf import settings

from billing import gateway
from billing.models import BillingAccount, Price
from billing.services.catalog import catalog_sync_to_stripe
from billing.services.subscriptions import (
    billing_customer_ready,
    checkout_complete,
    checkout_start,
    subscription_apply,
)
from tenants.models import Tenant


def stripe_sdk() -> stripe.StripeClient:
    """A client on the test run's emulator (no global SDK state is touched)."""
    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        stripe_version=settings.STRIPE_API_VERSION,
        base_addresses={"api": base, "files": base, "connect": base, "meter_events": base},
        max_network_retries=0,
    )


def subscribe_paid(
    tenant: Tenant,
    lookup_key: str = "starter-monthly",
    *,
    card: str = "pm_card_visa",
    clock_at: int | None = None,
) -> BillingAccount:
    """`tenant` on `lookup_key`, paid by `card`, mirrored locally. With `clock_at`, the
    customer lives on a test clock frozen at that time (advance it with `clock_advance`)."""
    client = stripe_sdk()
    catalog_sync_to_stripe()
    price = Price.objects.get(lookup_key=lookup_key)
    account = billing_customer_ready(tenant_id=tenant.pk)
    if clock_at is not None:
        account.stripe_customer_id = _customer_on_clock(client, tenant, clock_at)
        account.save(update_fields=["stripe_customer_id", "updated_at"])
    customer_id = account.stripe_customer_id or ""
    payment_method = client.v1.payment_methods.attach(card, {"customer": customer_id})
    client.v1.customers.update(
        customer_id, {"invoice_settings": {"default_payment_method": payment_method.id}}
    )
    item: dict[str, Any] = {"price": price.stripe_price_id}
    if not price.metered:
        item["quantity"] = tenant.memberships.count() if price.per_seat else 1
    params: Any = {"customer": customer_id, "items": [item]}
    created = client.v1.subscriptions.create(params)
    account.refresh_from_db()
    subscription_apply(
        account=account,
        subscription=gateway.subscription_from(created),
        stripe_time=int(time.time()),
    )
    account.refresh_from_db()
    return account


def _customer_on_clock(client: stripe.StripeClient, tenant: Tenant, frozen_time: int) -> str:
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": frozen_time})
    customer = client.v1.customers.create(
        {"email": f"{tenant.slug}@example.test", "test_clock": clock.id}
    )
    return str(customer.id)


def clock_advance(customer_id: str, to: int) -> None:
    client = stripe_sdk()
    clock_id = client.v1.customers.retrieve(customer_id).test_clock
    clock = client.v1.test_helpers.test_clocks.advance(str(clock_id), {"frozen_time": to})
    assert clock.status == "ready"


def stripe_quantity(account: BillingAccount) -> int:
    """The quantity Stripe holds for the account's subscription."""
    return gateway.subscription_retrieve(account.stripe_subscription_id or "").quantity


def subscription_updates(account: BillingAccount) -> int:
    """How many customer.subscription.updated events Stripe sent for this subscription."""
    events = stripe_sdk().v1.events.list({"type": "customer.subscription.updated", "limit": 100})
    return sum(
        1
        for event in events.auto_paging_iter()
        if event.data.object["id"] == account.stripe_subscription_id
    )


def complete_checkout(session_url: str, payment_method: str = "pm_card_visa") -> dict:
    """What the customer does on the emulator's Checkout page, through its test hook."""
    session_id = session_url.rstrip("/").rsplit("/", 1)[1]
    response = requests.post(
        f"{settings.STRIPE_API_BASE}/_emulator/checkout/{session_id}/complete",
        json={"payment_method": payment_method},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def subscribe_through_checkout(
    tenant: Tenant, price: str = "starter-monthly", card: str = "pm_card_visa"
) -> BillingAccount:
    """`tenant` subscribed as its admin does it: a Checkout session, paid on the emulator's
    page, then what Stripe's checkout.session.completed webhook runs."""
    billing_customer_ready(tenant_id=tenant.pk)
    session = checkout_start(tenant=tenant, price_lookup_key=price, host="acme.localhost")
    completed = complete_checkout(session.url, card)
    account = checkout_complete(session_id=completed["id"], customer_id=completed["customer"])
    assert account is not None
    return account
