"""Tenant-host routes of custom domains, under /api/v1/."""

from django.urls import path

from . import apis

urlpatterns = [
    path("domains/", apis.CustomDomainListAddApi.as_view(), name="domain-list"),
    path("domains/<int:domain_id>/", apis.CustomDomainDetailApi.as_view(), name="domain-detail"),
    path(
        "domains/<int:domain_id>/verify/",
        apis.CustomDomainVerifyApi.as_view(),
        name="domain-verify",
    ),
]
