"""The tenant's lifecycle status follows its subscription.

trialing -> trialing; active or no subscription (free plan) -> active; past_due -> past_due
during the grace period (BILLING_GRACE_DAYS), then read_only; unpaid or paused -> read_only;
canceled or expired -> active on the free plan (the mirror puts it there), whose limits then
apply. Suspended and archived are operator decisions and are left alone.

`now` is the time the grace is measured at: a test clock's time for an organization on one
(test mode), else the real time.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from billing.models import BillingAccount, SubscriptionStatus
from tenants.models import TenantStatus
from tenants.services import tenant_set_status

_FOLLOWS: dict[str, str] = {
    SubscriptionStatus.NONE: TenantStatus.ACTIVE,
    SubscriptionStatus.TRIALING: TenantStatus.TRIALING,
    SubscriptionStatus.ACTIVE: TenantStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE: TenantStatus.PAST_DUE,
    SubscriptionStatus.INCOMPLETE: TenantStatus.ACTIVE,
    SubscriptionStatus.PAUSED: TenantStatus.READ_ONLY,
    SubscriptionStatus.UNPAID: TenantStatus.READ_ONLY,
    SubscriptionStatus.CANCELED: TenantStatus.ACTIVE,
    SubscriptionStatus.INCOMPLETE_EXPIRED: TenantStatus.ACTIVE,
}
_OPERATOR_STATUSES = {TenantStatus.SUSPENDED, TenantStatus.ARCHIVED, TenantStatus.PROVISIONING}


def grace_over(account: BillingAccount, now: datetime | None = None) -> bool:
    since = account.past_due_since
    grace = timedelta(days=settings.BILLING_GRACE_DAYS)
    return since is not None and (now or timezone.now()) >= since + grace


def tenant_status_for(account: BillingAccount, now: datetime | None = None) -> str:
    if account.status == SubscriptionStatus.PAST_DUE and grace_over(account, now):
        return TenantStatus.READ_ONLY
    return _FOLLOWS.get(account.status, TenantStatus.ACTIVE)


def tenant_status_follow_billing(*, account: BillingAccount, now: datetime | None = None) -> None:
    tenant = account.tenant
    if tenant.status in _OPERATOR_STATUSES:
        return
    wanted = tenant_status_for(account, now)
    if wanted != tenant.status:
        tenant_set_status(tenant=tenant, status=wanted)
