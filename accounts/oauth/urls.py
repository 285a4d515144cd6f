"""The OAuth2 provider on the public host, under /o/. Only the flows we offer are routed:
no implicit/password/device grants, no OIDC, no DOT application-management pages
(applications are managed per organization at /api/v1/oauth/applications/)."""

from django.contrib.auth.views import LogoutView
from django.urls import path
from oauth2_provider import views as dot

from . import views

app_name = "oauth2_provider"  # DOT reverses its own routes under this namespace

urlpatterns = [
    path("login/", views.OAuthLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(next_page="/o/login/"), name="logout"),
    path("authorize/", views.TenantAuthorizationView.as_view(), name="authorize"),
    path("token/", dot.TokenView.as_view(), name="token"),
    path("revoke_token/", dot.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", views.TenantIntrospectTokenView.as_view(), name="introspect"),
    path(
        ".well-known/oauth-authorization-server",
        dot.OAuthServerMetadataView.as_view(),
        name="oauth-server-metadata",
    ),
]
