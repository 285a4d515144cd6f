"""Webhook and reconciliation tasks: take ids, call one service.

Every task here is idempotent and runs with acks_late (settings): a worker killed midway
leaves the message unacknowledged and it runs again; the services make the second run find
the work done or do it whole.
"""

import logging
from typing import Any

from celery import Task, shared_task
from django.db import connection

from billing.errors import PaymentProviderError, PaymentProviderUnavailable

from . import services

logger = logging.getLogger(__name__)

STRIPE_RETRY: dict[str, Any] = {
    "autoretry_for": (PaymentProviderUnavailable, PaymentProviderError),
    "retry_backoff": 30,
    "retry_backoff_max": 3600,
    "retry_jitter": True,
    "max_retries": 12,
}


@shared_task(bind=True, max_retries=None)
def webhook_event_process_task(self: Task, *, event_pk: int) -> str:
    """Process one stored event; a failure is retried with backoff and jitter (the wait is
    kept in the outbox, saas/outbox/task_class.py) until STRIPE_WEBHOOK_MAX_ATTEMPTS, then waits
    for `manage.py billing_replay_events`."""
    processed = services.webhook_event_process(event_pk=event_pk)
    if processed.retry_in is not None:
        raise self.retry(countdown=processed.retry_in)
    return processed.state


@shared_task
def webhook_events_sweep() -> int:
    return services.webhook_events_sweep()


@shared_task(**STRIPE_RETRY)
def webhook_events_reconcile() -> int:
    return services.webhook_events_reconcile()


@shared_task
def billing_sync_all() -> int:
    """Nightly: one sync task per account with a Stripe customer, each sent from inside its
    tenant's schema so the worker runs it there (tenant-schemas-celery)."""
    from billing.models import BillingAccount

    accounts = BillingAccount.objects.exclude(stripe_customer_id=None).select_related("tenant")
    count = 0
    for account in accounts.iterator():
        with account.tenant:
            billing_account_sync.delay(tenant_id=account.tenant_id)
        count += 1
    return count


class TenantContextMismatch(RuntimeError):
    """A tenant task ran in another schema than its tenant's: refuse rather than mix data."""


@shared_task(**STRIPE_RETRY)
def billing_account_sync(*, tenant_id: int) -> str:
    """Correct drift: mirror the tenant's subscription and invoices as Stripe has them."""
    from tenants.models import Tenant

    tenant = Tenant.objects.get(pk=tenant_id)
    current = getattr(connection, "schema_name", None)  # django-tenants' backend sets it
    if current != tenant.schema_name:
        raise TenantContextMismatch(f"{tenant.schema_name} task ran in {current}")
    return services.billing_account_sync(tenant=tenant)
