"""Each tenant's billing account and its Stripe customer.

The account is made inside the signup transaction (on the signup plan); the Stripe customer
is made afterwards by a Celery task, so signup never waits for or fails on Stripe. The task
is written to the outbox in that transaction, so a broker outage delays it and never loses
it. The customer's idempotency key is stored with the account before the first attempt, so
however often the task runs (retries, or the outbox delivering it twice), Stripe makes one
customer.
"""

import time

from django.conf import settings
from django.db import transaction

from accounts.models import Membership, Role
from billing import gateway
from billing.models import BillingAccount, Plan
from saas.outbox.services import outbox_enqueue
from tenants.models import Tenant


def billing_account_open(*, tenant: Tenant) -> BillingAccount:
    plan = Plan.objects.get(code=settings.BILLING_SIGNUP_PLAN)
    account = BillingAccount.objects.create(tenant=tenant, plan=plan)
    outbox_enqueue("billing.tasks.billing_customer_create", {"tenant_id": tenant.pk})
    return account


def _owner_email(tenant: Tenant) -> str:
    owner = Membership.objects.filter(tenant=tenant, role=Role.OWNER).select_related("user")
    first = owner.first()
    return first.user.email if first else ""


@transaction.atomic
def billing_customer_ensure(*, tenant_id: int) -> tuple[BillingAccount, bool]:
    """The tenant's account with its Stripe customer, made if missing, and whether it was
    made now. The row lock makes concurrent runs wait for each other; the stored key makes
    Stripe answer a repeat with the same customer. (What follows a new customer, the signup
    trial, is subscriptions.billing_customer_ready's.)"""
    account = (
        BillingAccount.objects.select_for_update()
        .select_related("tenant", "plan")
        .get(tenant_id=tenant_id)
    )
    if account.stripe_customer_id:
        return account, False
    tenant = account.tenant
    customer = gateway.customer_create(
        email=_owner_email(tenant),
        name=tenant.name,
        metadata={"tenant_id": str(tenant.pk), "tenant_slug": tenant.slug},
        idempotency_key=f"customer-{account.customer_idempotency_key}",
        test_clock=_test_clock_for(account) if settings.BILLING_TEST_CLOCKS else None,
    )
    account.stripe_customer_id = customer.id
    account.save(update_fields=["stripe_customer_id", "updated_at"])
    return account, True


def _test_clock_for(account: BillingAccount) -> str:
    """A test clock of the tenant's own, starting now (Stripe only puts a customer on a
    clock when the customer is made). Same key as the customer: one clock per tenant."""
    clock = gateway.test_clock_create(
        name=account.tenant.slug,
        frozen_time=int(time.time()),
        idempotency_key=f"clock-{account.customer_idempotency_key}",
    )
    return clock.id


def billing_account_for_customer(customer_id: str) -> BillingAccount | None:
    """The public-schema mapping webhooks use: Stripe customer -> tenant."""
    return (
        BillingAccount.objects.select_related("tenant", "plan", "price")
        .filter(stripe_customer_id=customer_id)
        .first()
    )
