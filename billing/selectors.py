from django.db.models import QuerySet

from billing.ledger.models import Invoice
from billing.models import BillingAccount, Plan
from tenants.models import Tenant


def plan_list_public() -> QuerySet[Plan]:
    return Plan.objects.filter(active=True, public=True).prefetch_related("prices")


def billing_account_get(*, tenant: Tenant) -> BillingAccount:
    return BillingAccount.objects.select_related("plan", "price", "scheduled_price").get(
        tenant=tenant
    )


def plan_includes(*, tenant: Tenant, feature: str) -> bool:
    """Whether the tenant's plan has `feature` now (a read; entitlement_require refuses)."""
    return BillingAccount.objects.filter(tenant=tenant, plan__features__contains=[feature]).exists()


def invoice_list() -> QuerySet[Invoice]:
    """Invoices of the current tenant: the connection is on its schema."""
    return Invoice.objects.order_by("-created", "-id")
