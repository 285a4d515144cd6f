"""Tenant-host routes of single sign-on, under /api/v1/."""

from django.urls import path

from . import apis

urlpatterns = [
    path("sso/", apis.SsoConnectionApi.as_view(), name="sso-connection"),
    path(
        "sso/domains/<str:domain>/verify/",
        apis.SsoDomainVerifyApi.as_view(),
        name="sso-domain-verify",
    ),
    path("sso/login/", apis.SsoLoginApi.as_view(), name="sso-login"),
    path("sso/callback/", apis.SsoCallbackApi.as_view(), name="sso-callback"),
    path("sso/token/", apis.SsoTokenApi.as_view(), name="sso-token"),
    path("sso/saml/metadata/", apis.SamlMetadataApi.as_view(), name="sso-saml-metadata"),
    path("sso/saml/acs/", apis.SamlAcsApi.as_view(), name="sso-saml-acs"),
]
