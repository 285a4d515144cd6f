"""Simulated time for an organization (Stripe test mode and the offline emulator): with
BILLING_TEST_CLOCKS on, each new Stripe customer lives on a test clock of its own; moving
that clock makes Stripe renew, retry, end trials and switch scheduled prices as it would
over real days, and send the same webhooks. Stripe refuses test clocks in live mode."""

import time
from datetime import UTC, datetime

from billing import gateway
from billing.models import BillingAccount
from saas.errors import Conflict
from tenants.models import Tenant

from .dunning import dunning_escalate

DAY = 86_400


def clock_get(*, tenant: Tenant) -> gateway.TestClock:
    account = BillingAccount.objects.get(tenant=tenant)
    clock = (
        gateway.test_clock_of_customer(account.stripe_customer_id)
        if account.stripe_customer_id
        else None
    )
    if clock is None:
        raise Conflict(
            "This organization's Stripe customer is not on a test clock: set "
            "BILLING_TEST_CLOCKS=true before the organization signs up.",
            code="no_test_clock",
        )
    return clock


def clock_advance(
    *, tenant: Tenant, to: int | None = None, days: float = 0, timeout: float = 60.0
) -> gateway.TestClock:
    """Move the tenant's clock to `to` (unix seconds) or by `days`, and wait until Stripe
    has run everything that fell due (real Stripe advances in the background)."""
    clock = clock_get(tenant=tenant)
    target = to if to is not None else clock.frozen_time + int(days * DAY)
    clock = gateway.test_clock_advance(clock.id, frozen_time=target)
    deadline = time.monotonic() + timeout
    while clock.status != "ready" and time.monotonic() < deadline:
        time.sleep(0.5)
        clock = gateway.test_clock_retrieve(clock.id)
    if clock.status != "ready":
        raise Conflict(f"The test clock is still {clock.status}.", code="test_clock_busy")
    return clock


def clock_dunning(*, tenant: Tenant) -> int:
    """The dunning beat job for this tenant, at its clock's time rather than the real one
    (the grace of a past_due subscription is counted in the clock's days)."""
    clock = clock_get(tenant=tenant)
    return dunning_escalate(
        now=datetime.fromtimestamp(clock.frozen_time, tz=UTC), tenant_id=tenant.pk
    )
