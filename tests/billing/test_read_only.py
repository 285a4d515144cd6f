"""Read-only after grace: a past_due organization keeps writing during BILLING_GRACE_DAYS, the
dunning job makes it read-only after that (reads and billing still work), and paying makes
it active again. The renewal really fails and is really paid, on the emulator."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import BillingAccount, SubscriptionStatus
from billing.services.subscriptions import subscription_refresh
from billing.tasks import billing_dunning_escalate
from tenants.models import Tenant, TenantStatus
from tenants.resolution import tenant_cache_invalidate
from tests.support.billing import clock_advance, stripe_sdk, subscribe_paid

pytestmark = pytest.mark.usefixtures("stripe_emulator")  # a fresh Stripe for each test

T0 = 1_700_000_000


def _set_card(customer_id: str, card: str) -> None:
    client = stripe_sdk()
    payment_method = client.v1.payment_methods.attach(card, {"customer": customer_id})
    params: dict = {"invoice_settings": {"default_payment_method": payment_method.id}}
    client.v1.customers.update(customer_id, params)  # type: ignore[arg-type]


def _refresh(tenant: Tenant) -> BillingAccount:
    account = BillingAccount.objects.select_related("tenant").get(tenant=tenant)
    subscription_refresh(account=account)
    tenant_cache_invalidate()  # the commit that would do it never comes in this test
    return account


def _escalate(tenant: Tenant) -> str:
    billing_dunning_escalate()
    tenant_cache_invalidate()
    return Tenant.objects.get(pk=tenant.pk).status


def _write(client) -> int:
    return int(client.post("/api/v1/projects/", {"name": "P"}, format="json").status_code)


def test_past_due_writes_until_grace_ends_then_reads_only_until_paid(acme, client_for) -> None:
    tenant, owner = acme.tenant, acme.user
    account = subscribe_paid(tenant, "starter-monthly", clock_at=T0)
    customer = account.stripe_customer_id or ""
    _set_card(customer, "pm_card_chargeCustomerFail")
    clock_advance(customer, int((account.current_period_end or timezone.now()).timestamp()) + 60)
    account = _refresh(tenant)
    assert account.status == SubscriptionStatus.PAST_DUE
    client = client_for(tenant, owner)

    # Within grace: past_due, still writing.
    assert _escalate(tenant) == TenantStatus.PAST_DUE
    assert _write(client) == 201

    # Grace over: read-only. Reads and billing work; other writes are refused.
    BillingAccount.objects.filter(pk=account.pk).update(
        past_due_since=timezone.now() - timedelta(days=8)
    )
    assert _escalate(tenant) == TenantStatus.READ_ONLY
    refused = client.post("/api/v1/projects/", {"name": "Q"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "tenant_read_only"
    assert client.get("/api/v1/projects/").status_code == 200
    assert client.get("/api/v1/billing/entitlements/").status_code == 200
    portal = client.post("/api/v1/billing/portal/", {}, format="json")
    assert portal.status_code != 403, portal.json()
    assert _escalate(tenant) == TenantStatus.READ_ONLY  # running again changes nothing

    # Paid again: active.
    _set_card(customer, "pm_card_visa")
    sdk = stripe_sdk()
    invoice = sdk.v1.subscriptions.retrieve(account.stripe_subscription_id or "").latest_invoice
    sdk.v1.invoices.pay(str(invoice))
    account = _refresh(tenant)
    assert account.status == SubscriptionStatus.ACTIVE
    assert Tenant.objects.get(pk=tenant.pk).status == TenantStatus.ACTIVE
    assert _write(client) == 201
