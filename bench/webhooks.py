"""Stripe webhook ingestion (gunicorn, 2 workers) and the Celery worker's processing rate.

A fixed number of signed events (Stripe's `event` shape from fixtures3.json, as vendored in
saas/stripe_emulator/shapes.json, around a `customer.updated` for a customer we do not know:
stored, queued, then recorded as ignored) is posted to 127.0.0.1 by a bounded pool of client
threads. Ingestion is what Stripe waits for: verify, INSERT ... ON CONFLICT, queue the task.
The worker then drains the queue; its rate is taken from the rows' own timestamps, so worker
start-up is not counted.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.db.models import Max, Min

from bench.common import free_port
from billing.webhooks.models import EventState, WebhookEvent
from saas.stripe_emulator.fixtures import shape
from saas.stripe_emulator.webhooks import sign

N = 2000
WARMUP = 100
CLIENT_THREADS = 4
GUNICORN_WORKERS = 2
WORKER_CONCURRENCY = 2
SECRET = "whsec_bench"  # noqa: S105 - signs the benchmark's own events
PREFIX = "evt_bench_"
REPO = Path(__file__).resolve().parent.parent
URL = "/api/v1/billing/stripe/webhook/"


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _bodies(count: int, tag: str) -> list[str]:
    customer = {**shape("customer"), "id": "cus_bench_nobody"}
    now = int(time.time())
    bodies = []
    for i in range(count):
        event = shape("event")
        event.update(
            id=f"{PREFIX}{tag}_{i}", type="customer.updated", created=now, data={"object": customer}
        )
        bodies.append(json.dumps(event, indent=2))
    return bodies


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=REPO, env=env)  # noqa: S603


def _gunicorn(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = _start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(GUNICORN_WORKERS),
            "--log-level",
            "warning",
        ],
        env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(base + "/healthz", timeout=1)
            return process, base
        except requests.RequestException:  # not up yet, or slow to answer on a busy machine
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def _post(session: requests.Session, base: str, body: str) -> float:
    headers = {
        "Host": settings.BASE_DOMAIN,
        "Content-Type": "application/json",
        "Stripe-Signature": sign(body, SECRET),
    }
    started = time.perf_counter()
    response = session.post(base + URL, data=body.encode(), headers=headers, timeout=10)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"webhook answered {response.status_code}: {response.text[:200]}")
    return elapsed


def _send_all(base: str, bodies: list[str]) -> tuple[list[float], float]:
    sessions = [requests.Session() for _ in range(CLIENT_THREADS)]
    chunks = [bodies[i::CLIENT_THREADS] for i in range(CLIENT_THREADS)]

    def send(index: int) -> list[float]:
        return [_post(sessions[index], base, body) for body in chunks[index]]

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        latencies = [ms for part in pool.map(send, range(CLIENT_THREADS)) for ms in part]
    return latencies, time.perf_counter() - started


def _drain(env: dict[str, str], count: int) -> float:
    worker = _start(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-c",
            str(WORKER_CONCURRENCY),
            "--loglevel",
            "warning",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        env,
    )
    events = WebhookEvent.objects.filter(stripe_event_id__startswith=PREFIX + "run_")
    try:
        deadline = time.monotonic() + 300
        while events.filter(state=EventState.IGNORED).count() < count:
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError("the worker did not process every event")
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(30)
    span = events.aggregate(first=Min("started_at"), last=Max("processed_at"))
    return float((span["last"] - span["first"]).total_seconds())


def run() -> list[dict[str, Any]]:
    WebhookEvent.objects.filter(stripe_event_id__startswith=PREFIX).delete()
    env = {
        **os.environ,
        "STRIPE_WEBHOOK_SECRETS": SECRET,
        # A queue of its own: a dev worker on this Redis must not take the benchmark's tasks.
        "CELERY_QUEUE": f"bench-webhooks-{os.getpid()}",
    }
    server, base = _gunicorn(env)
    try:
        _send_all(base, _bodies(WARMUP, "warm"))
        latencies, seconds = _send_all(base, _bodies(N, "run"))
    finally:
        server.terminate()
        server.wait(30)
    processing_seconds = _drain(env, N)
    WebhookEvent.objects.filter(stripe_event_id__startswith=PREFIX).delete()
    return [
        {
            "bench": "webhook_ingest",
            "n": N,
            "gunicorn_workers": GUNICORN_WORKERS,
            "client_threads": CLIENT_THREADS,
            "events_per_s": round(N / seconds),
            "p50_ms": round(statistics.median(latencies), 1),
            "p99_ms": round(_percentile(latencies, 0.99), 1),
        },
        {
            "bench": "webhook_process",
            "n": N,
            "worker_concurrency": WORKER_CONCURRENCY,
            "events_per_s": round(N / processing_seconds),
        },
    ]
