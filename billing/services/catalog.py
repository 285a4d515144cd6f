"""The plan catalog: defaults in the database, pushed to Stripe idempotently.

Stripe prices are immutable, so a changed amount, currency or interval makes a new Stripe
price that takes over the lookup key (transfer_lookup_key) and retires the old one. Running
the sync again with nothing changed makes no Stripe write at all.
"""

from dataclasses import dataclass, field

from django.db import transaction

from billing import gateway
from billing.models import Plan, Price

# code, name, description, trial days, seats, projects, requests/min, features, prices
DEFAULT_PLANS: list[dict] = [
    {
        "code": "free",
        "name": "Free",
        "description": "For trying things out.",
        "trial_days": 0,
        "seats_limit": 3,
        "projects_limit": 3,
        "api_requests_per_minute": 60,
        "features": [],
        "prices": [],
    },
    {
        "code": "starter",
        "name": "Starter",
        "description": "Small teams.",
        "trial_days": 14,
        "seats_limit": 10,
        "projects_limit": 20,
        "api_requests_per_minute": 300,
        "features": ["api"],
        "prices": [
            {"lookup_key": "starter-monthly", "amount": 900, "interval": "month", "per_seat": True},
            {"lookup_key": "starter-yearly", "amount": 9000, "interval": "year", "per_seat": True},
        ],
    },
    {
        "code": "pro",
        "name": "Pro",
        "description": "Growing teams with SSO, SCIM, custom domains and audit log.",
        "trial_days": 14,
        "seats_limit": 50,
        "projects_limit": None,
        "api_requests_per_minute": 1200,
        "features": ["api", "sso", "scim", "custom_domains", "audit_log"],
        "prices": [
            {"lookup_key": "pro-monthly", "amount": 1900, "interval": "month", "per_seat": True},
            {"lookup_key": "pro-yearly", "amount": 19000, "interval": "year", "per_seat": True},
        ],
    },
    {
        "code": "scale",
        "name": "Scale",
        "description": "Pay per API request, no seat limit.",
        "trial_days": 0,
        "seats_limit": None,
        "projects_limit": None,
        "api_requests_per_minute": 6000,
        "features": ["api", "sso", "scim", "custom_domains", "audit_log"],
        "prices": [
            {
                "lookup_key": "scale-usage",
                "amount": 1,
                "interval": "month",
                "metered": True,
                "meter_event_name": "api_requests",
            },
        ],
    },
]


@transaction.atomic
def catalog_seed_defaults() -> list[Plan]:
    """Create or update the default plans and prices (by code and lookup key)."""
    plans = []
    for order, spec in enumerate(DEFAULT_PLANS):
        fields = {k: v for k, v in spec.items() if k not in ("code", "prices")}
        plan, _ = Plan.objects.update_or_create(
            code=spec["code"], defaults={**fields, "sort_order": order}
        )
        for price in spec["prices"]:
            Price.objects.update_or_create(
                lookup_key=price["lookup_key"],
                defaults={
                    "plan": plan,
                    "currency": "usd",
                    **{k: v for k, v in price.items() if k != "lookup_key"},
                },
            )
        plans.append(plan)
    return plans


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)


def _matches(local: Price, remote: gateway.Price) -> bool:
    return (
        remote.unit_amount == local.amount
        and remote.currency == local.currency
        and remote.interval == local.interval
        and (remote.usage_type == "metered") == local.metered
    )


def catalog_sync_to_stripe() -> SyncReport:
    report = SyncReport()
    for plan in Plan.objects.prefetch_related("prices"):
        product = gateway.product_upsert(
            product_id=f"prod_saas_{plan.code}".replace("-", "_"),
            name=plan.name,
            description=plan.description,
            active=plan.active,
        )
        if plan.stripe_product_id != product.id:
            plan.stripe_product_id = product.id
            plan.save(update_fields=["stripe_product_id"])
        prices = list(plan.prices.all())
        remote = gateway.prices_by_lookup_keys([p.lookup_key for p in prices]) if prices else {}
        for price in prices:
            _sync_price(price, remote.get(price.lookup_key), product.id, report)
    return report


def _sync_price(
    price: Price, remote: gateway.Price | None, product_id: str, report: SyncReport
) -> None:
    if remote is not None and _matches(price, remote) and remote.product == product_id:
        if not price.active:
            gateway.price_deactivate(price_id=remote.id)
            report.retired.append(price.lookup_key)
        else:
            report.unchanged.append(price.lookup_key)
        if price.stripe_price_id != remote.id:
            Price.objects.filter(pk=price.pk).update(stripe_price_id=remote.id)
        return
    if not price.active:
        return
    created = gateway.price_create(
        product_id=product_id,
        lookup_key=price.lookup_key,
        unit_amount=price.amount,
        currency=price.currency,
        interval=price.interval,
        metered_event=price.meter_event_name if price.metered else None,
        metadata={"plan": price.plan.code, "per_seat": str(price.per_seat).lower()},
        # A retry of the same replacement is the same request, so it cannot add a second
        # price; naming the price it replaces keeps a change back to an earlier amount from
        # replaying that earlier, since retired, price (Stripe keeps keys for 24 hours).
        idempotency_key=f"price-{price.lookup_key}-{price.amount}-{price.currency}-"
        f"{price.interval}-{int(price.metered)}-replacing-{remote.id if remote else 'none'}",
    )
    Price.objects.filter(pk=price.pk).update(stripe_price_id=created.id)
    (report.replaced if remote is not None else report.created).append(price.lookup_key)
    if remote is not None:
        gateway.price_deactivate(price_id=remote.id)


def plan_get_default() -> Plan:
    from django.conf import settings

    return Plan.objects.get(code=settings.BILLING_SIGNUP_PLAN)
