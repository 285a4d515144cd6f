"""Billing fixtures: the catalog in the emulator, and tenants with real subscriptions made
through Checkout on the emulator, as a customer would."""

from collections.abc import Callable
from typing import Any

import pytest
import requests
import stripe
from django.conf import settings

from billing.models import BillingAccount
from billing.services.catalog import catalog_sync_to_stripe
from billing.services.subscriptions import billing_customer_ready, checkout_complete, checkout_start
from tenants.models import Tenant


@pytest.fixture
def catalog(db: None, stripe_emulator: Any) -> None:
    """The default plans pushed to a fresh emulator."""
    catalog_sync_to_stripe()


@pytest.fixture
def sdk(stripe_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The stripe module aimed at the emulator, for looking behind the gateway in tests."""
    monkeypatch.setattr(stripe, "api_key", settings.STRIPE_SECRET_KEY)
    monkeypatch.setattr(stripe, "api_base", settings.STRIPE_API_BASE)
    return stripe


def complete_checkout(session_url: str, payment_method: str = "pm_card_visa") -> dict:
    session_id = session_url.rstrip("/").rsplit("/", 1)[1]
    response = requests.post(
        f"{settings.STRIPE_API_BASE}/_emulator/checkout/{session_id}/complete",
        json={"payment_method": payment_method},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
def subscribe(catalog: None) -> Callable[..., BillingAccount]:
    """Subscribe a tenant through Checkout and the service the webhook calls."""

    def run(
        tenant: Tenant, price: str = "starter-monthly", card: str = "pm_card_visa"
    ) -> BillingAccount:
        billing_customer_ready(tenant_id=tenant.pk)
        session = checkout_start(tenant=tenant, price_lookup_key=price, host="acme.localhost")
        completed = complete_checkout(session.url, card)
        account = checkout_complete(session_id=completed["id"], customer_id=completed["customer"])
        assert account is not None
        return account

    return run
