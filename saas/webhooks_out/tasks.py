"""The delivery task and an event's fan-out, both queued through the outbox and run in the
schema they were queued from (tenant-schemas-celery). The delivery task is idempotent (a copy
that finds the delivery not due, or done, does nothing); a copy that finds it held by another
run (a duplicate, or the run of a worker killed mid-request) tries again once that run's
lease has passed, so a killed worker's delivery is still made. The fan-out task (an event
with several endpoints) queues each delivery's task through the outbox, in one transaction
(services.webhook_event_fan_out); run twice, it queues copies that find nothing to do.
"""

from celery import Task, shared_task

from . import services


@shared_task(bind=True, max_retries=20)
def webhook_deliver(self: Task, *, delivery_id: int) -> str:
    try:
        return services.webhook_delivery_attempt(delivery_id=delivery_id)
    except services.DeliveryHeld as held:
        raise self.retry(countdown=held.retry_in) from held


@shared_task
def webhook_event_fan_out(*, delivery_ids: list[int]) -> int:
    return services.webhook_event_fan_out(delivery_ids=delivery_ids)
