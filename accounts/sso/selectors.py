"""Reads of single sign-on, always within one organization."""

from saas.errors import NotFound
from tenants.models import Tenant

from .models import SsoConnection


def sso_connection_get(*, tenant: Tenant) -> SsoConnection:
    connection = SsoConnection.objects.filter(tenant=tenant).prefetch_related("domains").first()
    if connection is None:
        raise NotFound(
            "Single sign-on is not configured for this organization.", code="sso_not_configured"
        )
    return connection
