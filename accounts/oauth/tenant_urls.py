"""Tenant-host routes of the OAuth2 provider, under /api/v1/."""

from django.urls import path

from . import apis

urlpatterns = [
    path(
        "oauth/applications/",
        apis.OAuthApplicationListCreateApi.as_view(),
        name="oauth-application-list",
    ),
    path(
        "oauth/applications/<int:application_id>/",
        apis.OAuthApplicationDetailApi.as_view(),
        name="oauth-application-detail",
    ),
]
