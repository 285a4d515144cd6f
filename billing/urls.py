"""Tenant-host billing routes, under /api/v1/billing/."""

from django.urls import path

from . import apis

urlpatterns = [
    path("subscription/", apis.SubscriptionApi.as_view(), name="billing-subscription"),
    path(
        "subscription/preview-change/",
        apis.PreviewChangeApi.as_view(),
        name="billing-preview-change",
    ),
    path("subscription/change/", apis.ChangeApi.as_view(), name="billing-change"),
    path("subscription/cancel/", apis.CancelApi.as_view(), name="billing-cancel"),
    path("subscription/resume/", apis.ResumeApi.as_view(), name="billing-resume"),
    path("checkout/", apis.CheckoutApi.as_view(), name="billing-checkout"),
    path("portal/", apis.PortalApi.as_view(), name="billing-portal"),
    path("invoices/", apis.InvoiceListApi.as_view(), name="billing-invoices"),
]
