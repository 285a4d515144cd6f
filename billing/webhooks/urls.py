from django.urls import path

from .apis import StripeWebhookApi

urlpatterns = [
    path("", StripeWebhookApi.as_view(), name="stripe-webhook"),
]
