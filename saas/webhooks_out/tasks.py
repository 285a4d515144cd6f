"""The delivery task: queued through the outbox (services._queue), run in the schema it was
queued from (tenant-schemas-celery), idempotent (a copy that finds the delivery not due, or
held by another worker, does nothing)."""

from celery import shared_task

from . import services


@shared_task
def webhook_deliver(*, delivery_id: int) -> str:
    return services.webhook_delivery_attempt(delivery_id=delivery_id)
