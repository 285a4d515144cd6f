from django.db.models import QuerySet

from .models import Domain, Tenant


def tenant_get_by_slug(*, slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug).first()


def tenant_get_for_host(*, host: str) -> Tenant | None:
    """The tenant a host reaches (one query: domain joined to tenant)."""
    domain = Domain.objects.select_related("tenant").filter(domain=host.lower()).first()
    return domain.tenant if domain else None


def tenant_list(*, status: str | None = None) -> QuerySet[Tenant]:
    tenants = Tenant.objects.exclude(schema_name="public").order_by("id")
    return tenants.filter(status=status) if status else tenants


def tenant_primary_domain(*, tenant: Tenant) -> str | None:
    domain = tenant.domains.filter(is_primary=True).values_list("domain", flat=True).first()
    return domain
