"""Tenant-host routes of outbound webhooks, under /api/v1/."""

from django.urls import path

from . import apis

urlpatterns = [
    path(
        "webhook-event-types/", apis.WebhookEventTypeListApi.as_view(), name="webhook-event-types"
    ),
    path(
        "webhook-endpoints/",
        apis.WebhookEndpointListCreateApi.as_view(),
        name="webhook-endpoint-list",
    ),
    path(
        "webhook-endpoints/<int:endpoint_id>/",
        apis.WebhookEndpointDetailApi.as_view(),
        name="webhook-endpoint-detail",
    ),
    path(
        "webhook-endpoints/<int:endpoint_id>/rotate-secret/",
        apis.WebhookEndpointRotateSecretApi.as_view(),
        name="webhook-endpoint-rotate-secret",
    ),
    path(
        "webhook-endpoints/<int:endpoint_id>/test/",
        apis.WebhookEndpointTestApi.as_view(),
        name="webhook-endpoint-test",
    ),
    path(
        "webhook-endpoints/<int:endpoint_id>/deliveries/",
        apis.WebhookDeliveryListApi.as_view(),
        name="webhook-delivery-list",
    ),
    path(
        "webhook-endpoints/<int:endpoint_id>/deliveries/replay/",
        apis.WebhookDeliveryReplayRangeApi.as_view(),
        name="webhook-delivery-replay-range",
    ),
    path(
        "webhook-endpoints/<int:endpoint_id>/deliveries/<int:delivery_id>/",
        apis.WebhookDeliveryDetailApi.as_view(),
        name="webhook-delivery-detail",
    ),
    path(
        "webhook-endpoints/<int:endpoint_id>/deliveries/<int:delivery_id>/replay/",
        apis.WebhookDeliveryReplayApi.as_view(),
        name="webhook-delivery-replay",
    ),
]
