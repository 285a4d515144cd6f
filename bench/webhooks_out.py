"""Outbound webhooks (saas.webhooks_out): deliveries per second with a real Celery worker,
end-to-end latency from a change to the receiver, and the outbox's cost on the write path.

Everything goes to a receiver of the bench's own on 127.0.0.1 (a threaded HTTP server that
answers 200 at once and notes when each delivery arrived), on a bench tenant whose private
plan has the webhooks feature and no project limit. In order:

1. `webhooks_out_write_path`: `task_create` called in this process (the service, no HTTP)
   in a loop, with 0 and with 3 enabled endpoints subscribed to `task.created`, alternating
   rounds; no worker runs, and what the 3 endpoints' rounds queued is deleted (and the queue
   purged) before anything is delivered. Figures: creates/s per variant (median of the
   rounds) and their ratio, measured in the same run; the SQL statements of one create each
   way.
2. `webhooks_out_write_path_http`: the same comparison over HTTP: `POST
   /api/v1/projects/<id>/tasks/` as the owner (a JWT) against `gunicorn -w 2` on 127.0.0.1,
   driven by `wrk -t2 -c8` with bench/wrk_task_create.lua, HTTP_ROUNDS alternating rounds of
   HTTP_SECONDS with 0 and with 3 endpoints enabled, after a warm-up round not counted; no
   worker runs, and what was queued is deleted afterwards. Skipped (with a note) without wrk.
3. `webhooks_out_attempt_in_process`: IN_PROCESS deliveries attempted one after another by
   `webhook_delivery_attempt` in this process, no worker: the worker's per-delivery cost
   without the broker hop, Celery and the outbox's bookkeeping (to set beside 3).
4. `webhooks_out_deliveries`: DELIVERIES tasks made with one subscribed endpoint (a delivery
   each, queued in the broker) before a Celery worker starts (`-c 2`, prefork, as `saas dev`
   and the `webhooks` bench run it); the rate is taken from the deliveries' own rows, first
   attempt to last delivery, so the worker's start-up is not counted. Bounded by
   DRAIN_TIMEOUT seconds.
5. `webhooks_out_end_to_end`: with that worker running, E2E_SAMPLES projects made one at a
   time through `project_create`, each waited for at the receiver (at most SAMPLE_TIMEOUT
   seconds): from the service call's start (the change) to the receiver reading the request,
   which covers the transaction, the hand-over to the broker after commit, the worker's task,
   signing and the HTTP request. The first WARMUP samples are not counted.

The bench process publishes to its configured default queue (`CELERY_QUEUE`, "celery" under
`saas bench`, on the bench's Redis database), so the worker it starts consumes that queue.
"""

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from django.conf import settings

from bench.common import free_port, tenants_drop
from bench.http_tasks import WRK_MISSING, wrk_run

SLUG = "bench-hooks-out"
OWNER_EMAIL = "owner@bench-hooks-out.test"
DELIVERIES = int(os.environ.get("BENCH_HOOKS_DELIVERIES", "500"))
E2E_SAMPLES = int(os.environ.get("BENCH_HOOKS_E2E_SAMPLES", "200"))
WRITE_TASKS = int(os.environ.get("BENCH_HOOKS_WRITE_TASKS", "200"))  # per variant and round
WRITE_ROUNDS = int(os.environ.get("BENCH_HOOKS_WRITE_ROUNDS", "3"))
IN_PROCESS = int(os.environ.get("BENCH_HOOKS_IN_PROCESS", "200"))
HTTP_SECONDS = int(os.environ.get("BENCH_HOOKS_HTTP_SECONDS", "8"))  # per variant and round
HTTP_ROUNDS = int(os.environ.get("BENCH_HOOKS_HTTP_ROUNDS", "3"))
HTTP_WARMUP_SECONDS = 3
GUNICORN_WORKERS = 2
WRK_THREADS = 2
WRK_CONNECTIONS = 8
TASK_LUA = Path(__file__).resolve().parent / "wrk_task_create.lua"
WARMUP = 5
DRAIN_TIMEOUT = 120.0
SAMPLE_TIMEOUT = 10.0
WORKER_CONCURRENCY = 2
SUBSCRIBED = 3
REPO = Path(__file__).resolve().parent.parent
DELIVER_TASK = "saas.webhooks_out.tasks.webhook_deliver"


def _say(message: str) -> None:
    print(f"[bench webhooks_out] {message}", file=sys.stderr, flush=True)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# ---- the receiver -------------------------------------------------------------------------


class Receiver:
    """A threaded HTTP server on 127.0.0.1 that answers every POST 200 at once and notes,
    per delivery, when it arrived (time.time(), read after the body) and what it carried."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, dict[str, str], bytes]] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                arrived = time.time()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                headers = {key.lower(): value for key, value in self.headers.items()}
                with receiver._changed:
                    receiver.arrivals.append((arrived, headers, body))
                    receiver._changed.notify_all()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # no line per request on stderr

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def arrival_of(self, event_type: str, object_id: int, timeout: float) -> float | None:
        """When the first delivery of `event_type` about `object_id` arrived, or None."""

        def found() -> float | None:
            for arrived, _headers, body in self.arrivals:
                payload = json.loads(body)
                if payload["type"] == event_type and payload["data"].get("id") == object_id:
                    return arrived
            return None

        deadline = time.monotonic() + timeout
        with self._changed:
            while (arrived := found()) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)
        return arrived


# ---- the write path -----------------------------------------------------------------------


def endpoints_create(tenant: Any, url: str, event_types: list[str], count: int) -> list[int]:
    """`count` enabled endpoints of the tenant at `url`, through the service."""
    from saas.webhooks_out.services import webhook_endpoint_create

    with tenant:
        return [
            webhook_endpoint_create(tenant=tenant, url=url, event_types=event_types)[0].pk
            for _ in range(count)
        ]


def _endpoints_enable(tenant: Any, enabled_ids: list[int]) -> None:
    """Exactly these endpoints enabled (a bench switch between variants, not the API's)."""
    from saas.webhooks_out.models import WebhookEndpoint

    with tenant:
        WebhookEndpoint.objects.exclude(pk__in=enabled_ids).update(enabled=False)
        WebhookEndpoint.objects.filter(pk__in=enabled_ids).update(enabled=True)


def _creates_per_second(tenant: Any, owner: Any, project_id: int, count: int, tag: str) -> float:
    from saas.workspace.services import task_create

    with tenant:
        started = time.perf_counter()
        for i in range(count):
            task_create(tenant=tenant, project_id=project_id, created_by=owner, title=f"{tag} {i}")
        return count / (time.perf_counter() - started)


def write_path(
    tenant: Any, owner: Any, project_id: int, endpoint_ids: list[int], *, tasks: int, rounds: int
) -> dict[str, Any]:
    """Task creates/s in this process with none and with all of `endpoint_ids` enabled,
    alternating rounds of `tasks` each; what it queued is not delivered by this function."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from saas.webhooks_out.models import WebhookDelivery
    from saas.workspace.services import task_create

    none: list[float] = []
    subscribed: list[float] = []
    with tenant:
        deliveries_before = WebhookDelivery.objects.count()
    for number in range(1, rounds + 1):
        _endpoints_enable(tenant, [])
        none.append(_creates_per_second(tenant, owner, project_id, tasks, f"none {number}"))
        _endpoints_enable(tenant, endpoint_ids)
        subscribed.append(_creates_per_second(tenant, owner, project_id, tasks, f"sub {number}"))
        _say(
            f"write path round {number}/{rounds}: {none[-1]:.0f} creates/s with 0 endpoints, "
            f"{subscribed[-1]:.0f} with {len(endpoint_ids)}"
        )
    with tenant:
        queued = WebhookDelivery.objects.count() - deliveries_before
    queries: dict[int, int] = {}
    for enabled in ([], endpoint_ids):
        _endpoints_enable(tenant, enabled)
        with tenant, CaptureQueriesContext(connection) as captured:
            task_create(tenant=tenant, project_id=project_id, created_by=owner, title="counted")
        queries[len(enabled)] = len(captured.captured_queries)
    rate_none = statistics.median(none)
    rate_subscribed = statistics.median(subscribed)
    return {
        "bench": "webhooks_out_write_path",
        "client": "in-process loop over saas.workspace.services.task_create (no HTTP)",
        "tasks_per_round": tasks,
        "rounds": rounds,
        "subscribed_endpoints": len(endpoint_ids),
        "rounds_creates_per_s_0": [round(r, 1) for r in none],
        f"rounds_creates_per_s_{len(endpoint_ids)}": [round(r, 1) for r in subscribed],
        "creates_per_s_0": round(rate_none, 1),
        f"creates_per_s_{len(endpoint_ids)}": round(rate_subscribed, 1),
        "ms_per_create_0": round(1000 / rate_none, 2),
        f"ms_per_create_{len(endpoint_ids)}": round(1000 / rate_subscribed, 2),
        "ratio": round(rate_subscribed / rate_none, 3),
        "deliveries_queued": queued,
        "sql_per_create_0": queries[0],
        f"sql_per_create_{len(endpoint_ids)}": queries[len(endpoint_ids)],
    }


def _gunicorn() -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}"]
    command += ["-w", str(GUNICORN_WORKERS), "--log-level", "warning"]
    env = {**os.environ, "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(command, cwd=REPO, env=env)  # noqa: S603 - fixed arguments
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({process.returncode})")
        try:
            requests.get(base + "/healthz", timeout=1)
            return process, base
        except requests.RequestException:  # not listening yet
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def _wrk_creates(wrk: str, url: str, host: str, token: str, seconds: int) -> dict[str, Any]:
    command = [wrk, f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s"]
    command += ["--timeout", "10s", "-s", str(TASK_LUA), "-H", f"Host: {host}"]
    command += ["-H", f"Authorization: Bearer {token}", url]
    return wrk_run(command, seconds=seconds, what="task creates")[0]


def write_path_http(
    tenant: Any, owner: Any, project_id: int, endpoint_ids: list[int], *, seconds: int, rounds: int
) -> dict[str, Any]:
    """Task creates/s over HTTP (gunicorn, wrk) with none and with all of `endpoint_ids`
    enabled, alternating rounds; what it queued is not delivered by this function."""
    from accounts.models import Role
    from accounts.tokens import tenant_tokens_issue
    from tenants.services import tenant_domain_for

    wrk = shutil.which("wrk")
    if wrk is None:
        return {"bench": "webhooks_out_write_path_http", "skipped": WRK_MISSING}
    host = tenant_domain_for(SLUG)

    def creates(enabled: list[int], seconds: int) -> dict[str, Any]:
        _endpoints_enable(tenant, enabled)
        token = tenant_tokens_issue(user=owner, tenant=tenant, role=Role.OWNER).access_token
        url = f"{base}/api/v1/projects/{project_id}/tasks/"
        return _wrk_creates(wrk, url, host, str(token), seconds)

    none: list[dict[str, Any]] = []
    subscribed: list[dict[str, Any]] = []
    server, base = _gunicorn()
    try:
        creates(endpoint_ids, HTTP_WARMUP_SECONDS)
        for number in range(1, rounds + 1):
            none.append(creates([], seconds))
            subscribed.append(creates(endpoint_ids, seconds))
            _say(
                f"write path over HTTP, round {number}/{rounds}: "
                f"{none[-1]['requests_per_s']:.0f} creates/s with 0 endpoints, "
                f"{subscribed[-1]['requests_per_s']:.0f} with {len(endpoint_ids)}"
            )
    finally:
        server.terminate()
        server.wait(30)
    count = len(endpoint_ids)
    rate_none = statistics.median(r["requests_per_s"] for r in none)
    rate_subscribed = statistics.median(r["requests_per_s"] for r in subscribed)
    return {
        "bench": "webhooks_out_write_path_http",
        "client": f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS}, POST /api/v1/projects/<id>/tasks/",
        "server": f"gunicorn -w {GUNICORN_WORKERS}, 127.0.0.1",
        "seconds_per_round": seconds,
        "rounds": rounds,
        "subscribed_endpoints": count,
        "rounds_creates_per_s_0": [round(r["requests_per_s"], 1) for r in none],
        f"rounds_creates_per_s_{count}": [round(r["requests_per_s"], 1) for r in subscribed],
        "creates_per_s_0": round(rate_none, 1),
        f"creates_per_s_{count}": round(rate_subscribed, 1),
        "p50_ms_0": round(statistics.median(r["p50_ms"] for r in none), 2),
        f"p50_ms_{count}": round(statistics.median(r["p50_ms"] for r in subscribed), 2),
        "p99_ms_0": round(statistics.median(r["p99_ms"] for r in none), 2),
        f"p99_ms_{count}": round(statistics.median(r["p99_ms"] for r in subscribed), 2),
        "ratio": round(rate_subscribed / rate_none, 3),
    }


def attempts_in_process(tenant: Any, owner: Any, project_id: int, count: int) -> dict:
    """`count` deliveries (one subscribed endpoint enabled by the caller) attempted one after
    another by `webhook_delivery_attempt` in this process: the worker's per-delivery cost
    without the broker, Celery and the outbox's bookkeeping."""
    from saas.webhooks_out.models import DeliveryStatus, WebhookDelivery
    from saas.webhooks_out.services import webhook_delivery_attempt

    _creates_per_second(tenant, owner, project_id, count, "in process")
    with tenant:
        ids = list(
            WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).values_list(
                "pk", flat=True
            )
        )
        started = time.perf_counter()
        outcomes = [webhook_delivery_attempt(delivery_id=pk) for pk in ids]
        seconds = time.perf_counter() - started
    return {
        "bench": "webhooks_out_attempt_in_process",
        "what": "webhook_delivery_attempt in a loop, one process, no broker",
        "n": len(ids),
        "delivered": outcomes.count(DeliveryStatus.DELIVERED),
        "ms_per_delivery": round(seconds * 1000 / len(ids), 2),
        "deliveries_per_s": round(len(ids) / seconds, 1),
    }


# ---- the worker ---------------------------------------------------------------------------


def _queue_purge() -> None:
    from config.celery import app

    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)


def _undelivered_forget(tenant: Any) -> None:
    """Deletes the tenant's events and deliveries and their queued tasks (outbox rows and the
    broker's queue), so that nothing queued so far is delivered."""
    from saas.outbox.models import OutboxMessage
    from saas.webhooks_out.models import WebhookDelivery, WebhookEvent

    _queue_purge()
    OutboxMessage.objects.filter(schema_name=tenant.schema_name).delete()
    with tenant:
        WebhookDelivery.objects.all().delete()
        WebhookEvent.objects.all().delete()


def _worker() -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "config", "worker"]
    command += ["-c", str(WORKER_CONCURRENCY), "--loglevel", "warning"]
    command += ["--without-heartbeat", "--without-gossip", "--without-mingle"]
    return subprocess.Popen(command, cwd=REPO, env=dict(os.environ))  # noqa: S603


def _until(condition: Callable[[], bool], timeout: float, worker: subprocess.Popen) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline or worker.poll() is not None:
            return False
        time.sleep(0.2)
    return True


def deliveries_rate(tenant: Any, receiver: Receiver, expected: int, seconds: float) -> dict:
    """The rate at which the worker delivered `expected` deliveries, from their rows."""
    from django.db.models import Max, Min

    from saas.webhooks_out.models import DeliveryStatus, WebhookDelivery

    with tenant:
        rows = WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED)
        delivered = rows.count()
        span = rows.aggregate(first=Min("first_attempt_at"), last=Max("delivered_at"))
        others = WebhookDelivery.objects.exclude(status=DeliveryStatus.DELIVERED).count()
    elapsed = (span["last"] - span["first"]).total_seconds() if delivered else 0.0
    return {
        "bench": "webhooks_out_deliveries",
        "worker": f"celery prefork -c {WORKER_CONCURRENCY}",
        "receiver": "127.0.0.1, answers 200 at once",
        "queued": expected,
        "delivered": delivered,
        "not_delivered": others,
        "received": len(receiver.arrivals),
        "complete": delivered == expected,
        "drain_timeout_s": seconds,
        "seconds": round(elapsed, 3),
        "deliveries_per_s": round(delivered / elapsed, 1) if elapsed else None,
    }


def end_to_end(tenant: Any, owner: Any, receiver: Receiver, samples: int) -> dict[str, Any]:
    """Projects made one at a time; each timed from the call to its arrival."""
    from saas.workspace.services import project_create

    latencies: list[float] = []
    missed = 0
    for i in range(samples + WARMUP):
        with tenant:
            started = time.time()
            project = project_create(name=f"Bench e2e {i}", created_by=owner)
        arrived = receiver.arrival_of("project.created", project.pk, SAMPLE_TIMEOUT)
        if arrived is None:
            missed += 1
        elif i >= WARMUP:
            latencies.append((arrived - started) * 1000)
    return {
        "bench": "webhooks_out_end_to_end",
        "from": "project_create called (in process)",
        "to": "the receiver has read the delivery",
        "worker": f"celery prefork -c {WORKER_CONCURRENCY}",
        "n": len(latencies),
        "missed": missed,
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 2) if latencies else None,
        "max_ms": round(max(latencies), 2) if latencies else None,
    }


# ---- the run ------------------------------------------------------------------------------


def _cleanup() -> None:
    from accounts.models import User
    from billing.models import Plan
    from saas.outbox.models import OutboxMessage
    from tenants.models import Tenant

    schemas = list(Tenant.objects.filter(slug=SLUG).values_list("schema_name", flat=True))
    OutboxMessage.objects.filter(schema_name__in=schemas).delete()
    tenants_drop(Tenant.objects.filter(slug=SLUG))
    User.objects.filter(email=OWNER_EMAIL).delete()
    Plan.objects.filter(code=SLUG).delete()


def _seed() -> tuple[Any, Any]:
    """The bench tenant on a private plan with webhooks, no project limit and an API rate it
    cannot reach, and its owner."""
    from accounts.models import Membership, Role, User
    from billing.models import BillingAccount, Plan
    from billing.throttling import limits_forget
    from saas.webhooks_out.services import FEATURE
    from tenants.organizations import organization_open

    tenant = organization_open(name="Bench hooks out", slug=SLUG)
    plan = Plan.objects.create(
        code=SLUG, name="Bench", public=False, features=[FEATURE], api_requests_per_minute=10**9
    )
    BillingAccount.objects.filter(tenant=tenant).update(plan=plan)
    limits_forget(tenant_ids=[tenant.pk])
    owner = User.objects.create_user(email=OWNER_EMAIL)
    Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
    return tenant, owner


def run() -> list[dict[str, Any]]:
    from saas.workspace.services import project_create

    _cleanup()
    figures: list[dict[str, Any]] = []
    try:
        tenant, owner = _seed()
        with tenant:
            project = project_create(name="Bench", created_by=owner)
        with Receiver() as receiver:
            subscribed = endpoints_create(tenant, receiver.url(), ["task.created"], SUBSCRIBED)
            figures.append(
                write_path(
                    tenant, owner, project.pk, subscribed, tasks=WRITE_TASKS, rounds=WRITE_ROUNDS
                )
            )
            _undelivered_forget(tenant)
            figures.append(
                write_path_http(
                    tenant, owner, project.pk, subscribed, seconds=HTTP_SECONDS, rounds=HTTP_ROUNDS
                )
            )
            _undelivered_forget(tenant)
            _endpoints_enable(tenant, subscribed[:1])
            figures.append(attempts_in_process(tenant, owner, project.pk, IN_PROCESS))
            _undelivered_forget(tenant)
            receiver.arrivals.clear()

            _creates_per_second(tenant, owner, project.pk, DELIVERIES, "deliver")
            _say(f"{DELIVERIES} deliveries queued; starting the worker")
            worker = _worker()
            try:
                _until(lambda: len(receiver.arrivals) >= DELIVERIES, DRAIN_TIMEOUT, worker)
                time.sleep(1)  # the last attempts' records commit after the answer
                figures.append(deliveries_rate(tenant, receiver, DELIVERIES, DRAIN_TIMEOUT))
                _say(f"deliveries: {figures[-1]['deliveries_per_s']}/s")

                (projects,) = endpoints_create(tenant, receiver.url(), ["project.created"], 1)
                _endpoints_enable(tenant, [projects])
                figures.append(end_to_end(tenant, owner, receiver, E2E_SAMPLES))
            finally:
                worker.terminate()
                worker.wait(30)
    finally:
        with contextlib.suppress(Exception):
            _queue_purge()
        _cleanup()
    return figures
