"""Tenant-host routes of API key management, under /api/v1/."""

from django.urls import path

from . import apis

urlpatterns = [
    path("api-keys/", apis.ApiKeyListCreateApi.as_view(), name="api-key-list"),
    path("api-keys/<int:api_key_id>/", apis.ApiKeyDetailApi.as_view(), name="api-key-detail"),
    path(
        "api-keys/<int:api_key_id>/rotate/",
        apis.ApiKeyRotateApi.as_view(),
        name="api-key-rotate",
    ),
]
