"""The soft-limit alert check (Celery beat, billing.beat)."""

from celery import shared_task


@shared_task
def usage_alerts_check() -> None:
    from .services import usage_alerts_check as check

    check()
