"""What an organization uses in its current billing period (the connection is on its schema).

The period is the subscription's current period from the local mirror (BillingAccount); an
organization without one (the free plan) counts by calendar month (UTC).

- api_requests: the UsageRecord rows of the period (billing.services.usage) plus the buckets
  still in Redis (one MGET), on every plan: the throttle counts each request it lets through,
  metered or licensed.
- seats: members (the owner included); projects: every project, archived ones too (what the
  plan's limits count; billing.services.entitlements).
- webhook_deliveries: outbound webhook deliveries with at least one attempt in the period.
- metered_units: on a metered price, the units Stripe bills: the metered UsageRecord rows and
  buckets (the meter is the API request count). It equals api_requests unless the period began
  on a licensed price (those requests are shown, never billed).
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing import gateway
from billing.errors import BillingError
from billing.ledger.models import UsageRecord
from billing.models import BillingAccount, SubscriptionStatus
from billing.services.entitlements import seat_count
from billing.throttling import bucket_of, redis_client, usage_key
from saas.webhooks_out.models import WebhookAttempt
from saas.workspace.selectors import project_count
from tenants.models import Tenant

logger = logging.getLogger("billing.tenant_usage")

SEATS = "seats"
PROJECTS = "projects"
# Buckets the collector may not have moved yet (it takes those closed a full minute ago).
_OPEN_BUCKETS = 3


@dataclass(frozen=True)
class Metric:
    used: int
    limit: int | None  # None: unlimited
    unit: str


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    kind: str  # "subscription" or "calendar_month"


@dataclass(frozen=True)
class Day:
    date: date
    api_requests: int
    webhook_deliveries: int


@dataclass
class UsageSummary:
    account: BillingAccount
    period: Period
    metrics: dict[str, Metric]
    daily: list[Day] = field(default_factory=list)


def _calendar_month(now: datetime) -> Period:
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return Period(start=start, end=end, kind="calendar_month")


# A subscription in these states bills nothing more: its organization counts by month.
_ENDED = (
    SubscriptionStatus.NONE,
    SubscriptionStatus.CANCELED,
    SubscriptionStatus.INCOMPLETE_EXPIRED,
)


def _subscribed(account: BillingAccount) -> bool:
    return bool(account.stripe_subscription_id) and account.status not in _ENDED


def usage_period(*, account: BillingAccount, now: datetime | None = None) -> Period:
    """The subscription's current period, or the calendar month without a live one."""
    start, end = account.current_period_start, account.current_period_end
    if _subscribed(account) and start is not None and end is not None:
        return Period(start=start, end=end, kind="subscription")
    return _calendar_month(now or timezone.now())


def _metered(account: BillingAccount) -> bool:
    return bool(account.price is not None and account.price.metered)


@dataclass(frozen=True)
class _Requests:
    total: int
    metered: int


def _uncollected(tenant_id: int, now: datetime) -> _Requests:
    """Requests counted in Redis not yet moved into rows (the current and last minutes),
    metered and licensed, in one MGET."""
    newest = bucket_of(now.timestamp())
    buckets = range(newest - _OPEN_BUCKETS + 1, newest + 1)
    keys = [usage_key(tenant_id, b, metered=m) for m in (True, False) for b in buckets]
    values = [int(v or 0) for v in redis_client().mget(keys)]
    return _Requests(total=sum(values), metered=sum(values[: len(buckets)]))


def _requests_by_day(period: Period) -> dict[date, _Requests]:
    rows = (
        UsageRecord.objects.filter(occurred_at__gte=period.start, occurred_at__lt=period.end)
        .annotate(day=TruncDate("occurred_at", tzinfo=UTC))
        .values("day")
        .annotate(total=Sum("quantity"), metered=Sum("quantity", filter=Q(metered=True)))
    )
    return {row["day"]: _Requests(int(row["total"]), int(row["metered"] or 0)) for row in rows}


def _requests_by_day_so_far(tenant: Tenant, period: Period, now: datetime) -> dict[date, _Requests]:
    """The collected rows by day, and today's buckets not collected yet."""
    requests = _requests_by_day(period)
    if period.start <= now < period.end:
        pending = _uncollected(tenant.pk, now)
        if pending.total:
            today = now.astimezone(UTC).date()
            counted = requests.get(today, _Requests(0, 0))
            requests[today] = _Requests(
                counted.total + pending.total, counted.metered + pending.metered
            )
    return requests


def _attempts_in(period: Period) -> QuerySet[WebhookAttempt]:
    return WebhookAttempt.objects.filter(
        attempted_at__gte=period.start, attempted_at__lt=period.end
    )


def _deliveries_by_day(period: Period) -> dict[date, int]:
    rows = (
        _attempts_in(period)
        .annotate(day=TruncDate("attempted_at", tzinfo=UTC))
        .values("day")
        .annotate(total=Count("delivery", distinct=True))
    )
    return {row["day"]: int(row["total"]) for row in rows}


def _days(period: Period, now: datetime) -> list[date]:
    first = period.start.astimezone(UTC).date()
    last = min(now, period.end - timedelta(microseconds=1)).astimezone(UTC).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def usage_summary(*, tenant: Tenant, now: datetime | None = None) -> UsageSummary:
    """Every metric of the current period, with the plan's limits and a daily history."""
    moment = now or timezone.now()
    account = BillingAccount.objects.select_related("plan", "price").get(tenant=tenant)
    plan = account.plan
    period = usage_period(account=account, now=moment)
    requests = _requests_by_day_so_far(tenant, period, moment)
    deliveries = _deliveries_by_day(period)
    metrics = {
        "api_requests": Metric(sum(r.total for r in requests.values()), None, "requests"),
        SEATS: Metric(seat_count(tenant=tenant), plan.seats_limit, "members"),
        PROJECTS: Metric(project_count(), plan.projects_limit, "projects"),
        "webhook_deliveries": Metric(
            _attempts_in(period).values("delivery").distinct().count(),
            None,
            "deliveries",
        ),
    }
    if _metered(account):
        billed = sum(r.metered for r in requests.values())
        metrics["metered_units"] = Metric(billed, None, "requests")
    daily = [
        Day(
            date=day,
            api_requests=requests[day].total if day in requests else 0,
            webhook_deliveries=deliveries.get(day, 0),
        )
        for day in _days(period, moment)
    ]
    return UsageSummary(period=period, metrics=metrics, daily=daily, account=account)


def limited_usage(*, tenant: Tenant, account: BillingAccount) -> dict[str, Metric]:
    """The metrics a plan limits (seats, projects) for the alerts; the connection is on the
    tenant's schema."""
    plan = account.plan
    return {
        SEATS: Metric(seat_count(tenant=tenant), plan.seats_limit, "members"),
        PROJECTS: Metric(project_count(), plan.projects_limit, "projects"),
    }


@dataclass(frozen=True)
class NextInvoice:
    amount_due: int  # minor units
    currency: str
    period_end: datetime | None


def next_invoice_preview(*, account: BillingAccount) -> tuple[NextInvoice | None, str | None]:
    """Stripe's preview of the next invoice (one call) and, when there is none, why. Stripe
    away or refusing is a reason, never an error: the rest of the usage answers anyway."""
    customer_id, subscription_id = account.stripe_customer_id, account.stripe_subscription_id
    if not (_subscribed(account) and customer_id and subscription_id):
        return None, "no_subscription"
    try:
        preview = gateway.invoice_preview_upcoming(
            customer_id=customer_id, subscription_id=subscription_id
        )
    except BillingError as exc:
        logger.warning("next invoice preview failed for account %s: %s", account.pk, exc)
        return None, str(getattr(exc, "code", "") or exc.default_code)
    return NextInvoice(preview.amount_due, preview.currency, preview.period_end), None
