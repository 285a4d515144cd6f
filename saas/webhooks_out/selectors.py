from django.db.models import QuerySet

from saas.errors import NotFound

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def webhook_endpoint_list() -> QuerySet[WebhookEndpoint]:
    """The endpoints of the organization whose schema the connection is on."""
    return WebhookEndpoint.objects.order_by("id")


def webhook_endpoint_get(*, endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.", code="webhook_endpoint_not_found")
    return endpoint


def webhook_delivery_list(*, endpoint_id: int, status: str | None = None) -> QuerySet:
    webhook_endpoint_get(endpoint_id=endpoint_id)
    deliveries = WebhookDelivery.objects.filter(endpoint_id=endpoint_id).select_related("event")
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries.order_by("-created_at", "-id")


def webhook_delivery_get(*, endpoint_id: int, delivery_id: int) -> WebhookDelivery:
    delivery = (
        WebhookDelivery.objects.select_related("event")
        .filter(pk=delivery_id, endpoint_id=endpoint_id)
        .first()
    )
    if delivery is None:
        raise NotFound("No such delivery.", code="webhook_delivery_not_found")
    return delivery


def webhook_attempt_list(*, delivery: WebhookDelivery, limit: int = 50) -> list[WebhookAttempt]:
    return list(
        WebhookAttempt.objects.filter(delivery=delivery).order_by("-attempted_at", "-id")[:limit]
    )
