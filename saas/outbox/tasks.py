"""The outbox relay, run by Celery beat every few seconds (saas/outbox/beat.py)."""

from celery import shared_task

from . import services


@shared_task
def outbox_relay() -> int:
    return services.outbox_relay()
