"""Tenant-host route of the entitlements endpoint, under /api/v1/."""

from django.urls import path

from .entitlement_apis import EntitlementsApi

urlpatterns = [
    path("billing/entitlements/", EntitlementsApi.as_view(), name="billing-entitlements"),
]
