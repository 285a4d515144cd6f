"""Reads of OAuth2 applications, always within one tenant."""

from django.db.models import QuerySet

from saas.errors import NotFound
from tenants.models import Tenant

from ..models import OAuthApplication


def oauth_application_list(*, tenant: Tenant) -> QuerySet[OAuthApplication]:
    return OAuthApplication.objects.filter(tenant=tenant).order_by("-created", "-id")


def oauth_application_get(*, tenant: Tenant, application_id: int) -> OAuthApplication:
    """Another tenant's application is as unknown as a missing one."""
    application = OAuthApplication.objects.filter(tenant=tenant, pk=application_id).first()
    if application is None:
        raise NotFound("No such OAuth application.", code="oauth_application_not_found")
    return application
