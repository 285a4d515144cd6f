"""URLs of a tenant host (<slug>.<BASE_DOMAIN>): the organization's own API."""

from django.urls import URLPattern, URLResolver, include, path

api_v1: list[URLPattern | URLResolver] = [
    path("", include("accounts.urls")),
    path("billing/", include("billing.urls")),
    path("", include("saas.workspace.urls")),
    path("", include("accounts.oauth.tenant_urls")),
    path("", include("billing.entitlement_urls")),
    path("", include("saas.audit.urls")),
    path("", include("accounts.mfa.urls")),
    path("", include("tenants.domains.urls")),
    path("", include("accounts.sso.urls")),
    path("", include("accounts.scim.urls")),
    path("", include("saas.webhooks_out.urls")),
    path("", include("accounts.apikeys.urls")),
    path("", include("billing.tenant_usage.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    # SCIM 2.0 provisioning (accounts.scim): RFC 7644's paths, errors and media type.
    path("scim/v2/", include("accounts.scim.scim_urls")),
    # The landing pages for links we send people (saas.pages): outside /api/.
    path("", include("saas.pages.urls")),
]

handler400 = "api.views.bad_request"
handler403 = "api.views.permission_denied"
handler404 = "api.views.not_found"
handler500 = "api.views.server_error"
