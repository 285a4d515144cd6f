"""Soft-limit alerts: when seats or projects reach 80% or 100% of the plan's limit, the
organization's owners, admins and billing managers get an email, once per period per
threshold per metric.

The check is a beat job over every organization on a limited plan (usage_alerts_check), so
requests pay nothing for it. Each alert sent is a UsageAlert row whose unique constraint
(organization, metric, threshold, period start) makes it once: the row and the emails (queued
through the outbox on commit) are one transaction, and of two concurrent runs the second
finds the row and sends nothing.
"""

import logging
from datetime import datetime

from django.db import IntegrityError, transaction

from accounts.models import Membership, Role
from billing.models import BillingAccount
from saas.mail import email_send_later
from tenants.models import Tenant

from .models import UsageAlert
from .selectors import Metric, Period, limited_usage, usage_period

logger = logging.getLogger("billing.tenant_usage")

THRESHOLDS = (80, 100)  # percent of a limit
ALERTED_ROLES = (Role.OWNER, Role.ADMIN, Role.BILLING)


def _reached(used: int, limit: int) -> list[int]:
    return [t for t in THRESHOLDS if limit > 0 and used * 100 >= limit * t]


def usage_alert_send(
    *,
    tenant: Tenant,
    period: Period,
    name: str,
    metric: Metric,
    used: int,
    limit: int,
    threshold: int,
) -> bool:
    """Record the alert and queue its emails in one transaction; False if it was sent."""
    try:
        with transaction.atomic():
            UsageAlert.objects.create(
                tenant=tenant,
                metric=name,
                threshold=threshold,
                period_start=period.start,
                used=used,
                limit=limit,
            )
            recipients = Membership.objects.filter(
                tenant_id=tenant.pk, role__in=ALERTED_ROLES
            ).select_related("user")
            for membership in recipients:
                email_send_later(
                    template="usage_limit_alert",
                    to=membership.user.email,
                    context={
                        "organization": tenant.name,
                        "metric": name,
                        "unit": metric.unit,
                        "threshold": threshold,
                        "used": used,
                        "limit": limit,
                        "period_end": period.end.date().isoformat(),
                    },
                )
    except IntegrityError:
        return False  # a concurrent run sent it
    return True


def usage_alerts_for(*, account: BillingAccount, now: datetime | None = None) -> int:
    """Send what the account's organization has newly reached; returns alerts sent. A jump
    straight past several thresholds sends the highest and records the lower ones too."""
    tenant = account.tenant
    period = usage_period(account=account, now=now)
    with tenant:
        metrics = limited_usage(tenant=tenant, account=account)
    sent_before = set(
        UsageAlert.objects.filter(tenant=tenant, period_start=period.start).values_list(
            "metric", "threshold"
        )
    )
    sent = 0
    for name, metric in metrics.items():
        used, limit = metric.used, metric.limit
        if limit is None:
            continue
        new = [t for t in _reached(used, limit) if (name, t) not in sent_before]
        if not new:
            continue
        for lower in new[:-1]:
            UsageAlert.objects.get_or_create(
                tenant=tenant,
                metric=name,
                threshold=lower,
                period_start=period.start,
                defaults={"used": used, "limit": limit},
            )
        sent += usage_alert_send(
            tenant=tenant,
            period=period,
            name=name,
            metric=metric,
            used=used,
            limit=limit,
            threshold=new[-1],
        )
    return sent


def usage_alerts_check(*, now: datetime | None = None) -> int:
    """The beat job: every organization on a plan with a seat or project limit. `now` picks
    the calendar month of organizations without a subscription (default: now)."""
    sent = 0
    accounts = (
        BillingAccount.objects.select_related("tenant", "plan")
        .exclude(plan__seats_limit__isnull=True, plan__projects_limit__isnull=True)
        .order_by("id")
    )
    for account in accounts:
        try:
            sent += usage_alerts_for(account=account, now=now)
        except Exception:
            # One organization's failure (its schema mid-deletion) never stops the others.
            logger.exception("usage alerts failed for account %s", account.pk)
    return sent
