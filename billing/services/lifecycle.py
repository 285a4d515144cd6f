"""The tenant's lifecycle status follows its subscription.

trialing -> trialing; active or no subscription (free plan) -> active; past_due -> past_due
during the grace period (BILLING_GRACE_DAYS), then read_only; unpaid, canceled or expired ->
read_only. Suspended and archived are operator decisions and are left alone.
"""

from datetime import timedelta

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
    SubscriptionStatus.CANCELED: TenantStatus.READ_ONLY,
    SubscriptionStatus.INCOMPLETE_EXPIRED: TenantStatus.ACTIVE,
}
_OPERATOR_STATUSES = {TenantStatus.SUSPENDED, TenantStatus.ARCHIVED, TenantStatus.PROVISIONING}


def grace_over(account: BillingAccount) -> bool:
    since = account.past_due_since
    return since is not None and timezone.now() >= since + timedelta(
        days=settings.BILLING_GRACE_DAYS
    )


def tenant_status_for(account: BillingAccount) -> str:
    if account.status == SubscriptionStatus.PAST_DUE and grace_over(account):
        return TenantStatus.READ_ONLY
    return _FOLLOWS.get(account.status, TenantStatus.ACTIVE)


def tenant_status_follow_billing(*, account: BillingAccount) -> None:
    tenant = account.tenant
    if tenant.status in _OPERATOR_STATUSES:
        return
    wanted = tenant_status_for(account)
    if wanted != tenant.status:
        tenant_set_status(tenant=tenant, status=wanted)
