"""One Stripe customer per tenant, made after signup by a retried task; signup never waits
for Stripe and never fails because of it."""

import pytest

from billing import gateway
from billing.errors import PaymentProviderUnavailable
from billing.models import BillingAccount
from billing.services.subscriptions import billing_customer_ready

SIGNUP = {
    "name": "Acme",
    "slug": "acme",
    "email": "owner@acme.test",
    "password": "correct-horse-battery",
}


@pytest.fixture
def stripe_down(settings):
    """Stripe unreachable: nothing listens on port 1."""

    def down() -> None:
        settings.STRIPE_API_BASE = "http://127.0.0.1:1"
        settings.STRIPE_MAX_NETWORK_RETRIES = 0
        gateway.reset_client()

    yield down
    gateway.reset_client()


def customers_named(sdk, slug: str) -> list:
    return [
        c
        for c in sdk.Customer.list(limit=100).data
        if c.to_dict().get("metadata", {}).get("tenant_slug") == slug
    ]


def test_signup_succeeds_with_stripe_down_and_the_customer_appears_once_it_is_back(
    db, client_for, stripe_emulator, sdk, stripe_down, settings
) -> None:
    emulator_url = settings.STRIPE_API_BASE
    stripe_down()

    response = client_for(None).post("/api/v1/signup/", SIGNUP, format="json")

    assert response.status_code == 201
    account = BillingAccount.objects.get(tenant__slug="acme")
    assert account.plan.code == "free"
    assert account.stripe_customer_id is None
    with pytest.raises(PaymentProviderUnavailable):
        billing_customer_ready(tenant_id=account.tenant_id)  # the task's retry, Stripe still down

    settings.STRIPE_API_BASE = emulator_url
    gateway.reset_client()
    account = billing_customer_ready(tenant_id=account.tenant_id)
    again = billing_customer_ready(tenant_id=account.tenant_id)

    assert account.stripe_customer_id
    assert again.stripe_customer_id == account.stripe_customer_id
    [customer] = customers_named(sdk, "acme")
    assert customer.id == account.stripe_customer_id
    assert customer.email == "owner@acme.test"


def test_a_lost_answer_does_not_make_a_second_customer(
    db, make_tenant, stripe_emulator, sdk
) -> None:
    """Stripe made the customer but our process died before saving its id: the retry sends
    the stored idempotency key and gets the same customer back."""
    tenant = make_tenant("acme")
    account = BillingAccount.objects.get(tenant=tenant)
    lost = gateway.customer_create(
        email="",
        name=tenant.name,
        metadata={"tenant_id": str(tenant.pk), "tenant_slug": tenant.slug},
        idempotency_key=f"customer-{account.customer_idempotency_key}",
    )

    account = billing_customer_ready(tenant_id=tenant.pk)

    assert account.stripe_customer_id == lost.id
    assert len(customers_named(sdk, "acme")) == 1


def test_the_worker_makes_the_customer_after_signup(mail, client_for, stripe_emulator, sdk) -> None:
    import time

    assert client_for(None).post("/api/v1/signup/", SIGNUP, format="json").status_code == 201
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        account = BillingAccount.objects.get(tenant__slug="acme")
        if account.stripe_customer_id:
            break
        time.sleep(0.1)
    assert account.stripe_customer_id
    assert [c.id for c in customers_named(sdk, "acme")] == [account.stripe_customer_id]


def test_every_tenant_gets_its_own_account(db, make_tenant) -> None:
    acme, beta = make_tenant("acme"), make_tenant("beta")
    assert BillingAccount.objects.get(tenant=acme).pk != BillingAccount.objects.get(tenant=beta).pk
