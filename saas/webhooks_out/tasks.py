"""The delivery task: queued through the outbox (services._queue), run in the schema it was
queued from (tenant-schemas-celery), idempotent (a copy that finds the delivery not due, or
done, does nothing). A copy that finds it held by another run (a duplicate, or the run of a
worker killed mid-request) tries again once that run's lease has passed, so a killed
worker's delivery is still made."""

from celery import Task, shared_task

from . import services


@shared_task(bind=True, max_retries=20)
def webhook_deliver(self: Task, *, delivery_id: int) -> str:
    try:
        return services.webhook_delivery_attempt(delivery_id=delivery_id)
    except services.DeliveryHeld as held:
        raise self.retry(countdown=held.retry_in) from held
