from django.db.models import QuerySet

from saas.errors import InvalidInput, NotFound
from tenants.models import READABLE_STATUSES, Tenant
from tenants.resolution import tenant_for_host

from .hostnames import hostname_normalize
from .models import CustomDomain


def custom_domain_list(*, tenant: Tenant) -> QuerySet[CustomDomain]:
    return CustomDomain.objects.filter(tenant=tenant).order_by("hostname", "id")


def custom_domain_get(*, tenant: Tenant, domain_id: int) -> CustomDomain:
    """This organization's domain `domain_id`; another organization's is not found."""
    domain = CustomDomain.objects.filter(tenant=tenant, pk=domain_id).first()
    if domain is None:
        raise NotFound("No such domain.", code="domain_not_found")
    return domain


def tls_host_allowed(*, hostname: str) -> bool:
    """May the TLS front get a certificate for `hostname`? Only for a host this deployment
    serves: an organization's own host or verified custom domain, from the same host map
    that routes requests (no query for a host seen in this generation), while the
    organization is served. Anything else, malformed names included, is no."""
    try:
        name = hostname_normalize(hostname)
    except InvalidInput:  # a malformed name is simply not ours
        return False
    tenant = tenant_for_host(name)
    return tenant is not None and tenant.status in READABLE_STATUSES
