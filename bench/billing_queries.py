"""Database queries per request of the billing read endpoints, with 1 and with 50 rows
behind them (members and invitations for the entitlements, invoices for the subscription and
the invoice list). The target is a
constant: the count must not grow with the rows.

Each figure is one request after an unrecorded warm-up (the first request of a process fills
the host, access and plan-limit caches), through the whole middleware stack with Django's
test client, on a bench tenant that is removed afterwards.
"""

from datetime import UTC, datetime

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from accounts.models import Membership, Role, User
from accounts.tokens import tenant_tokens_issue
from bench.common import tenants_drop
from billing.ledger.models import Invoice
from tenants.models import Tenant
from tenants.organizations import organization_open
from tenants.services import tenant_domain_for

SLUG = "bench-billing-queries"
SIZES = (1, 50)
ENDPOINTS = {
    "billing-entitlements": "/api/v1/billing/entitlements/",
    "billing-subscription": "/api/v1/billing/subscription/",
    "billing-invoices": "/api/v1/billing/invoices/",
}


def _routed(name: str, tenant: Tenant) -> bool:
    with tenant:
        try:
            reverse(name, urlconf="config.urls_tenants")
        except NoReverseMatch:
            return False
    return True


def _cleanup() -> None:
    tenants_drop(Tenant.objects.filter(slug=SLUG))
    User.objects.filter(email__endswith="@bench-billing.test").delete()


def _grow(tenant: Tenant, size: int) -> None:
    """Members and invoices up to `size` each (users with no usable password: no hashing)."""
    have = Membership.objects.filter(tenant=tenant).count()
    for i in range(have, size):
        user = User.objects.create_user(email=f"m{i}@bench-billing.test")
        Membership.objects.create(user=user, tenant=tenant, role=Role.MEMBER)
    with tenant:
        for i in range(Invoice.objects.count(), size):
            Invoice.objects.create(
                stripe_invoice_id=f"in_bench_{i}",
                status="paid",
                currency="usd",
                total=900,
                created=datetime.fromtimestamp(1_700_000_000 + i, tz=UTC),
            )


def _queries(client: Client, path: str) -> int:
    client.get(path)  # warm-up
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


def run() -> list[dict]:
    _cleanup()
    figures = []
    try:
        tenant = organization_open(name="Bench", slug=SLUG)
        owner = User.objects.create_user(email="owner@bench-billing.test")
        Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
        token = tenant_tokens_issue(user=owner, tenant=tenant, role=Role.OWNER).access_token
        client = Client(HTTP_HOST=tenant_domain_for(SLUG), HTTP_AUTHORIZATION=f"Bearer {token}")
        endpoints = {n: p for n, p in ENDPOINTS.items() if _routed(n, tenant)}
        counts: dict[str, list[int]] = {name: [] for name in endpoints}
        for size in SIZES:
            _grow(tenant, size)
            for name, path in endpoints.items():
                counts[name].append(_queries(client, path))
                figures.append(
                    {
                        "bench": "billing_queries",
                        "path": path,
                        "rows": size,
                        "queries": counts[name][-1],
                    }
                )
        for name, path in endpoints.items():
            figures.append(
                {"bench": "billing_queries", "path": path, "constant": len(set(counts[name])) == 1}
            )
    finally:
        _cleanup()
    return figures
