"""Billing tasks: take ids, call one service, retry with backoff while Stripe is away (each
wait kept in the outbox, not in the broker: saas/outbox/task_class.py)."""

from celery import shared_task

from .errors import PaymentProviderError, PaymentProviderUnavailable

STRIPE_RETRY = {
    "autoretry_for": (PaymentProviderUnavailable, PaymentProviderError),
    "retry_backoff": 5,
    "retry_backoff_max": 3600,
    "retry_jitter": True,
    "max_retries": 20,  # about a day of backoff; the nightly sync catches what is left
}


@shared_task(**STRIPE_RETRY)
def billing_customer_create(*, tenant_id: int) -> None:
    from .services.subscriptions import billing_customer_ready

    billing_customer_ready(tenant_id=tenant_id)


# ---- seats, usage and dunning (entitlements) ---------------------------------------------


@shared_task(**STRIPE_RETRY)
def billing_seat_sync(*, account_id: int) -> None:
    from .services.seats import seat_sync_apply

    seat_sync_apply(account_id=account_id)


@shared_task
def billing_seat_sync_sweep() -> None:
    from .services.seats import seat_sync_sweep

    seat_sync_sweep()


@shared_task(**STRIPE_RETRY)
def billing_usage_collect_and_report() -> None:
    from .services.usage import usage_collect, usage_report_all

    usage_collect()
    usage_report_all()


@shared_task
def billing_dunning_escalate() -> None:
    from .services.dunning import dunning_escalate

    dunning_escalate()
