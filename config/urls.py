"""Every route of both hosts in one list, for the OpenAPI schema and reverse() outside a
request. Requests never use it: the tenant middleware picks urls_public or urls_tenants."""

from django.urls import include, path

from . import urls_public, urls_tenants

urlpatterns = [
    path("api/v1/", include(urls_public.api_v1)),
    path("api/v1/", include(urls_tenants.api_v1)),
    path("scim/v2/", include("accounts.scim.scim_urls")),
]

handler400 = "api.views.bad_request"
handler403 = "api.views.permission_denied"
handler404 = "api.views.not_found"
handler500 = "api.views.server_error"
