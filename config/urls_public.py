"""URLs of the public host (BASE_DOMAIN): signup, catalog, webhooks, OAuth2, docs, admin."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerOauthRedirectView

from api.docs_pages import RedocView, SwaggerView
from billing.apis import PlanListApi
from tenants.apis import SignupApi

api_v1: list[URLPattern | URLResolver] = [
    path("signup/", SignupApi.as_view(), name="signup"),
    path("billing/stripe/webhook/", include("billing.webhooks.urls")),
    path("plans/", PlanListApi.as_view(), name="plan-list"),
    path("", include("tenants.domains.public_urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="config.urls"), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # Where Swagger UI's OAuth2 "Authorize" returns (its default: beside the page, on the
    # page's own host and port); register it as an application's redirect URI.
    path(
        "api/docs/oauth2-redirect.html",
        SpectacularSwaggerOauthRedirectView.as_view(),
        name="swagger-oauth-redirect",
    ),
    path("api/redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
    path("o/", include("accounts.oauth.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "api.views.bad_request"
handler403 = "api.views.permission_denied"
handler404 = "api.views.not_found"
handler500 = "api.views.server_error"
