"""Tenant-host route of the usage endpoint, under /api/v1/."""

from django.urls import path

from .apis import UsageApi

urlpatterns = [path("usage/", UsageApi.as_view(), name="usage")]
