"""Dunning escalation: a past_due organization keeps full access for BILLING_GRACE_DAYS, then
becomes read-only (reads allowed, writes 403 `tenant_read_only`; login and billing stay
writable so it can pay). Paying moves it back to active through the subscription mirror."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.models import BillingAccount, SubscriptionStatus
from tenants.models import TenantStatus

from .lifecycle import tenant_status_follow_billing


def dunning_escalate(*, now: datetime | None = None, tenant_id: int | None = None) -> int:
    """Apply the lifecycle to every past_due account whose grace is over at `now` (default:
    the real time; a test clock's time in test mode, for one tenant); returns how many
    tenants became read-only. Safe to run any number of times."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.BILLING_GRACE_DAYS)
    overdue = BillingAccount.objects.filter(
        status=SubscriptionStatus.PAST_DUE, past_due_since__lte=cutoff
    ).exclude(tenant__status=TenantStatus.READ_ONLY)
    if tenant_id is not None:
        overdue = overdue.filter(tenant_id=tenant_id)
    escalated = 0
    for account_id in overdue.values_list("pk", flat=True):
        with transaction.atomic():
            # No joins in a locking query: see subscriptions.account_for_update.
            account = BillingAccount.objects.select_for_update().get(pk=account_id)
            tenant_status_follow_billing(account=account, now=now)
            escalated += account.tenant.status == TenantStatus.READ_ONLY
    return escalated
