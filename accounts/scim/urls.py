"""Tenant-host routes of SCIM token management, under /api/v1/."""

from django.urls import path

from . import apis

urlpatterns = [
    path("scim/tokens/", apis.ScimTokenListCreateApi.as_view(), name="scim-token-list"),
    path(
        "scim/tokens/<int:scim_token_id>/",
        apis.ScimTokenDetailApi.as_view(),
        name="scim-token-detail",
    ),
]
