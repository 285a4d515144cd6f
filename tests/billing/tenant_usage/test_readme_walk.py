"""The README's usage walk on the demo organization `make run` seeds (a Starter trial, five
members, two projects): what the README shows is what the endpoint answers, and the next
invoice is the trial's end as Stripe previews it."""

import io
from typing import Any

from django.core.management import call_command
from rest_framework.test import APIClient

from billing.models import BillingAccount
from stripe_emulator.server import EmulatorServer
from tests.support.billing import stripe_sdk

HOST = "demo.localhost"


def test_the_readme_walk(committed: None, stripe_emulator: EmulatorServer) -> None:
    call_command("billing_sync_catalog", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    login = APIClient(HTTP_HOST=HOST).post(
        "/api/v1/auth/login/",
        {"email": "demo@example.com", "password": "demo-password-2026"},
        format="json",
    )
    owner = APIClient(HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
    response = owner.get("/api/v1/usage/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["period"]["kind"] == "subscription"
    assert body["metrics"] == {
        "api_requests": {"used": 1, "limit": None, "unit": "requests"},  # this GET
        "seats": {"used": 5, "limit": 10, "unit": "members"},
        "projects": {"used": 2, "limit": 20, "unit": "projects"},
        "webhook_deliveries": {"used": 0, "limit": None, "unit": "deliveries"},
    }
    assert body["daily"]
    assert [d["api_requests"] for d in body["daily"]][-1] == 1
    assert sum(d["api_requests"] for d in body["daily"]) == 1
    account = BillingAccount.objects.get(tenant__slug="demo")
    params: Any = {
        "customer": account.stripe_customer_id,
        "subscription": account.stripe_subscription_id,
    }
    preview = stripe_sdk().v1.invoices.create_preview(params)
    assert body["next_invoice"]["amount_due"] == preview.amount_due
    assert body["next_invoice"]["currency"] == "usd"
    assert body["next_invoice_unavailable"] is None
