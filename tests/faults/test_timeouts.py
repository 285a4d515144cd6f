"""Every outside call a request waits on is bounded, and all of them together stay below
gunicorn's worker timeout: the relation over the settings, the clients actually built from
them, and start-up refusing settings that break it. (Hung dependencies under a running
server: test_redis_hang.py, test_stripe_hang.py.)"""

import pytest
import urllib3
from celery import current_app
from django.conf import settings
from django.core.cache import cache
from stripe import RequestsClient
from stripe._http_client import HTTPClient

from billing import gateway
from saas.observability import gunicorn_conf
from saas.redis_breaker import _BREAKER_CLASSES
from tests.support.processes import GOOD_KEYS, load_settings


def test_the_outside_calls_of_a_request_end_before_the_worker_timeout() -> None:
    # Stripe: every attempt, and the SDK's waits between them (0.5 s doubling, capped).
    retries = settings.STRIPE_MAX_NETWORK_RETRIES
    assert (HTTPClient.INITIAL_DELAY, HTTPClient.MAX_DELAY) == (0.5, 5)
    stripe_waits = sum(min(0.5 * 2**n, 5) for n in range(retries))
    stripe = settings.STRIPE_TIMEOUT_SECONDS * (1 + retries) + stripe_waits
    # Redis: one timed-out call before and one after the Stripe call (the breaker skips the
    # rest); a publish: each of its attempts is one such call, plus the policy's waits.
    redis_call = settings.REDIS_CONNECT_TIMEOUT_SECONDS + settings.REDIS_SOCKET_TIMEOUT_SECONDS
    policy = settings.CELERY_TASK_PUBLISH_RETRY_POLICY
    publish_waits = sum(
        min(policy["interval_start"] + n * policy["interval_step"], policy["interval_max"])
        for n in range(int(policy["max_retries"]))
    )
    publish = redis_call * (1 + policy["max_retries"]) + publish_waits

    assert stripe + 2 * redis_call + publish < settings.GUNICORN_TIMEOUT
    # The worker timeout compared with is the one gunicorn gets.
    assert gunicorn_conf.timeout == settings.GUNICORN_TIMEOUT


def test_the_clients_are_built_with_those_timeouts() -> None:
    gateway.reset_client()
    requestor = gateway._client()._requestor
    assert requestor._options.max_network_retries == settings.STRIPE_MAX_NETWORK_RETRIES
    assert isinstance(requestor._client, RequestsClient)
    timeout: object = requestor._client._timeout
    assert isinstance(timeout, urllib3.Timeout)
    assert timeout.total == settings.STRIPE_TIMEOUT_SECONDS  # connecting and answering alike

    pool = cache.client.get_client().connection_pool  # type: ignore[attr-defined]
    assert pool.connection_class in _BREAKER_CLASSES.values()  # TCP, TLS or a Unix socket
    assert pool.connection_kwargs["socket_timeout"] == settings.REDIS_SOCKET_TIMEOUT_SECONDS
    assert (
        pool.connection_kwargs["socket_connect_timeout"] == settings.REDIS_CONNECT_TIMEOUT_SECONDS
    )

    options = current_app.conf.broker_transport_options
    assert options["socket_timeout"] == settings.REDIS_SOCKET_TIMEOUT_SECONDS
    assert options["socket_connect_timeout"] == settings.REDIS_CONNECT_TIMEOUT_SECONDS
    assert current_app.conf.task_publish_retry_policy == settings.CELERY_TASK_PUBLISH_RETRY_POLICY


@pytest.mark.parametrize(
    ("env", "starts"),
    [
        ({}, True),
        ({"STRIPE_TIMEOUT_SECONDS": "15"}, False),
        ({"STRIPE_TIMEOUT_SECONDS": "15", "GUNICORN_TIMEOUT": "60"}, True),
        ({"REDIS_SOCKET_TIMEOUT_SECONDS": "5"}, False),
    ],
)
def test_start_up_refuses_timeouts_the_worker_would_not_outlive(
    env: dict[str, str], starts: bool
) -> None:
    result = load_settings(DJANGO_ENV="production", **GOOD_KEYS, **env)

    if starts:
        assert result.stdout.strip() == "ok", result.stderr
    else:
        assert "ImproperlyConfigured" in result.stderr
        assert "GUNICORN_TIMEOUT" in result.stderr.splitlines()[-1]
