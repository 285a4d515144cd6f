"""Every outside call a web request waits on gives up before gunicorn kills the worker serving
it: a dependency that hangs is then a 503 in the one error format, never a killed worker and
gunicorn's bare 500.

GUNICORN_TIMEOUT is the worker timeout saas/observability/gunicorn_conf.py hands gunicorn (the
same variable and default). Start-up refuses settings whose worst case for one request
reaches it:

    Stripe:  (1 + STRIPE_MAX_NETWORK_RETRIES) * STRIPE_TIMEOUT_SECONDS + the SDK's retry waits
    Redis:   2 * (REDIS_CONNECT_TIMEOUT_SECONDS + REDIS_SOCKET_TIMEOUT_SECONDS): after one call
             times out the process skips Redis for REDIS_BREAKER_SECONDS, so a request pays
             one timeout before its longest wait and at most one after it
    publish: (1 + publish max_retries) * one Redis call + the retry policy's waits

A request stops at the first Stripe call that gives up, so one Stripe term is the worst case.
"""

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .base import REDIS_CONNECT_TIMEOUT_SECONDS, REDIS_SOCKET_TIMEOUT_SECONDS
from .celery import CELERY_TASK_PUBLISH_RETRY_POLICY
from .env import env
from .stripe import STRIPE_MAX_NETWORK_RETRIES, STRIPE_TIMEOUT_SECONDS

GUNICORN_TIMEOUT = env.int("GUNICORN_TIMEOUT", default=30)

# The Stripe SDK waits before its retry n: 0.5 s doubling, at most 5 s (its HTTPClient's
# INITIAL_DELAY and MAX_DELAY; the jitter only shortens a wait).
_STRIPE_FIRST_RETRY_WAIT, _STRIPE_MAX_RETRY_WAIT = 0.5, 5.0


def stripe_call_seconds(timeout: float, retries: int) -> float:
    waits = sum(
        min(_STRIPE_FIRST_RETRY_WAIT * 2**n, _STRIPE_MAX_RETRY_WAIT) for n in range(retries)
    )
    return (1 + retries) * timeout + waits


def redis_call_seconds(connect: float, socket: float) -> float:
    return connect + socket


def publish_seconds(policy: dict[str, Any], redis_call: float) -> float:
    """kombu's retry_over_time: waits start at interval_start and grow by interval_step up to
    interval_max, one before each retry."""
    retries = int(policy["max_retries"])
    waits = sum(
        min(policy["interval_start"] + n * policy["interval_step"], policy["interval_max"])
        for n in range(retries)
    )
    return (1 + retries) * redis_call + waits


def request_worst_case_seconds() -> dict[str, float]:
    redis_call = redis_call_seconds(REDIS_CONNECT_TIMEOUT_SECONDS, REDIS_SOCKET_TIMEOUT_SECONDS)
    return {
        "stripe": stripe_call_seconds(STRIPE_TIMEOUT_SECONDS, STRIPE_MAX_NETWORK_RETRIES),
        "redis": 2 * redis_call,
        "publish": publish_seconds(CELERY_TASK_PUBLISH_RETRY_POLICY, redis_call),
    }


if (_worst := sum(request_worst_case_seconds().values())) >= GUNICORN_TIMEOUT:
    raise ImproperlyConfigured(
        f"A request could wait {_worst:.1f}s on Stripe and Redis "
        f"({request_worst_case_seconds()}), not less than GUNICORN_TIMEOUT={GUNICORN_TIMEOUT}: "
        "lower STRIPE_TIMEOUT_SECONDS, STRIPE_MAX_NETWORK_RETRIES or the REDIS_*_TIMEOUT_SECONDS, "
        "or raise GUNICORN_TIMEOUT"
    )
