"""Sentry error reporting, on only when a DSN is configured."""

from typing import Any


def sentry_init(
    *, dsn: str, environment: str, release: str | None, traces_sample_rate: float, **extra: Any
) -> bool:
    """Starts the SDK if `dsn` is set; says whether it did. No personal data is sent (no user
    emails, IPs, cookies or request bodies)."""
    if not dsn:
        return False
    # Imported only when used: the SDK costs ~75 ms of every process's start-up.
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        **extra,
    )
    return True
