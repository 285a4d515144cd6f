"""Redis hangs (SIGSTOP: connections are accepted, nothing is ever answered) under a running
gunicorn: every request still gets an answer within a bounded wait, reads and writes that can
do without Redis succeed (host and access caches fall back to the database, throttles fail
open), what cannot (an Idempotency-Key) is a 503 with Retry-After in the one error format, a
Celery publish gives up instead of waiting forever, and after SIGCONT everything is normal
again in the same processes. (Redis gone rather than hung: test_redis_down.py.)"""

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from celery import Celery
from django.conf import settings
from django_redis.cache import RedisCache
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from accounts.models import Role
from billing.models import WebhookEvent
from saas.observability import gunicorn_conf
from saas.redis_breaker import breaker
from tenants.services import tenant_domain_for
from tests.factories import make_member, make_organization, make_user
from tests.support.faults import OwnRedis, assert_unavailable, production_gunicorn
from tests.support.http import BearerAuth
from tests.support.processes import wait_until
from tests.support.webhooks import SECRET, URL, signed

PASSWORD = "a-long-password-1"  # noqa: S105 - test account


def answered(answer: requests.Response | str) -> requests.Response:
    assert isinstance(answer, requests.Response), f"no answer: {answer}"
    return answer


def test_a_hung_redis_costs_each_request_a_bounded_wait_and_nothing_once_it_answers(
    committed: None, own_redis: OwnRedis, start_server, tmp_path: Path
) -> None:
    tenant = make_organization("acme")
    user = make_user(password=PASSWORD)
    make_member(tenant, Role.ADMIN, user=user)
    tag = uuid.uuid4().hex[:8]
    env = production_gunicorn(
        tmp_path,
        REDIS_URL=own_redis.url,
        CELERY_BROKER_URL=own_redis.url,
        CELERY_QUEUE=f"fault-hang-{tag}",
        CACHE_KEY_PREFIX=f"fault-hang-{tag}",
        STRIPE_WEBHOOK_SECRETS=SECRET,
    )
    server = start_server(**env)
    host = tenant_domain_for("acme")
    auth = server.login(host, user.email, PASSWORD)

    def call(method: str, path: str, **kwargs: Any) -> requests.Response | str:
        headers = {"Host": kwargs.pop("host", host), **kwargs.pop("headers", {})}
        try:
            return requests.request(
                method,
                server.url + path,
                headers=headers,
                # Well past the worker timeout: a request that hangs shows as its worker
                # killed (gunicorn's bare 500), or as the client giving up.
                timeout=gunicorn_conf.timeout + 15,
                **kwargs,
            )
        except requests.RequestException as exc:
            return type(exc).__name__

    def login() -> requests.Response | str:
        return call("POST", "/api/v1/auth/login/", json={"email": user.email, "password": PASSWORD})

    def webhook(event_id: str) -> requests.Response | str:
        """Stored, then queued after commit: a Celery publish inside the request."""
        body = json.dumps(
            {
                "id": event_id,
                "object": "event",
                "type": "customer.updated",
                "created": 1_900_000_000,
                "livemode": False,
                "api_version": settings.STRIPE_API_VERSION,
                "data": {"object": {"id": "cus_fault", "object": "customer"}},
            }
        )
        return call(
            "POST",
            URL,
            host="localhost",
            data=body.encode(),
            headers={"Content-Type": "application/json", "Stripe-Signature": signed(body)},
        )

    assert answered(call("GET", "/api/v1/projects/", auth=auth)).status_code == 200

    event_id = f"evt_hang_{tag}"
    own_redis.pause()
    try:
        seen: dict[str, tuple[requests.Response | str, float]] = {}
        for name, request in {
            "read": lambda: call("GET", "/api/v1/projects/", auth=auth),
            "write": lambda: call("POST", "/api/v1/projects/", auth=auth, json={"name": "hung"}),
            "login": login,
            "keyed write": lambda: call(
                "POST",
                "/api/v1/projects/",
                auth=auth,
                json={"name": "keyed"},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            ),
            "webhook": lambda: webhook(event_id),
            "readyz": lambda: call("GET", "/readyz", host="localhost"),
        }.items():
            started = time.monotonic()
            seen[name] = request(), round(time.monotonic() - started, 1)
    finally:
        own_redis.resume()

    # (status, seconds) of each, for the failure message.
    outcome = {
        name: (answer.status_code if isinstance(answer, requests.Response) else answer, elapsed)
        for name, (answer, elapsed) in seen.items()
    }
    # Every request was answered: none outwaited the client, none got its worker killed.
    assert "WORKER TIMEOUT" not in (tmp_path / "gunicorn.log").read_text(), outcome
    assert {name: status for name, (status, _) in outcome.items()} == {
        "read": 200,
        "write": 201,
        "login": 200,  # throttles fail open
        "keyed write": 503,  # without Redis no honest replay: refused, never a duplicate
        "webhook": 200,  # stored; the sweep queues it once the broker answers
        "readyz": 200,
    }, outcome
    assert_unavailable(answered(seen["keyed write"][0]), "idempotency_unavailable")
    assert answered(seen["readyz"][0]).json()["status"] == "degraded"
    assert WebhookEvent.objects.filter(stripe_event_id=event_id).exists()

    # Redis answers again: the same processes are back to normal, nothing restarted (the
    # breaker lets the next call through after REDIS_BREAKER_SECONDS).
    wait_until(
        lambda: answered(call("GET", "/readyz", host="localhost")).json()["status"] == "ok",
        "readiness to see Redis again",
    )
    fresh = answered(login())
    assert fresh.status_code == 200
    again = BearerAuth(fresh.json()["access"])
    key, body = {"Idempotency-Key": uuid.uuid4().hex}, {"name": "after"}
    first = answered(call("POST", "/api/v1/projects/", auth=again, json=body, headers=key))
    assert first.status_code == 201, first.text
    replay = answered(call("POST", "/api/v1/projects/", auth=again, json=body, headers=key))
    assert replay.headers["Idempotent-Replayed"] == "true"
    listed = answered(call("GET", "/api/v1/projects/", auth=again)).text
    assert '"hung"' in listed
    assert '"after"' in listed
    assert answered(webhook(f"evt_after_{tag}")).status_code == 200
    assert server.process.poll() is None


def test_a_publish_to_a_hung_broker_gives_up_instead_of_waiting(
    own_redis: OwnRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `task.delay()` in a request does when the broker hangs: the settings' transport
    options and publish retry policy make it raise, so the caller decides; the request is never
    held until its worker is killed."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # Celery prefers it to its config
    app = Celery("hang-probe", set_as_current=False)
    app.config_from_object(settings, namespace="CELERY")
    app.conf.broker_url = own_redis.url
    app.conf.task_default_queue = f"fault-hang-{uuid.uuid4().hex[:8]}"

    def probe() -> None:  # what `task.delay()` does: publish a message by the task's name
        app.send_task("tests.faults.hang_probe")

    probe()  # connected, and published while Redis answers
    raised: list[BaseException] = []

    def publish() -> None:
        try:
            probe()
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            raised.append(exc)

    own_redis.pause()
    publisher = threading.Thread(target=publish, daemon=True)
    started = time.monotonic()
    publisher.start()
    # A bounded wait, not a timing claim: longer than any bound the settings give.
    publisher.join(timeout=gunicorn_conf.timeout)
    gave_up = not publisher.is_alive()
    waited = round(time.monotonic() - started, 1)
    own_redis.resume()
    publisher.join(timeout=30)  # a hung one completes now: no thread is left behind
    try:
        assert gave_up, f"still publishing after {waited}s"
        assert [type(exc) for exc in raised] == [OperationalError], (raised, waited)
        probe()  # and publishes again once Redis answers
    finally:
        app.close()


def test_after_one_timeout_the_process_skips_a_hung_redis_until_the_breaker_closes(
    own_redis: OwnRedis, settings
) -> None:
    """The cache of a hung Redis: the first call waits its socket timeout and trips the
    breaker; the calls after it fail at once without touching the network (as for a Redis
    that is down), and once the breaker has closed and Redis answers, calls succeed again."""
    options = settings.CACHES["default"]["OPTIONS"]
    hung = RedisCache(own_redis.url, {"OPTIONS": options, "KEY_PREFIX": "breaker-probe"})
    assert hung.set("k", 1) is True
    client = hung.client.get_client()
    own_redis.pause()
    try:
        assert hung.get("k") is None  # timed out: the cache ignores the error
        assert breaker.is_open()
        with pytest.raises(RedisConnectionError, match="not trying it yet"):
            client.ping()
    finally:
        own_redis.resume()
        breaker.reset()  # the breaker is the process's: never leave it open for other tests
    assert hung.get("k") == 1
    assert client.ping() is True
