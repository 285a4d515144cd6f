"""Billing tasks: take ids, call one service, retry with backoff while Stripe is away."""

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
    from .services.accounts import billing_customer_ensure

    billing_customer_ensure(tenant_id=tenant_id)
