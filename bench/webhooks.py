"""Stripe webhook ingestion under `wrk` (gunicorn, 2 workers) and the worker's processing rate.

Events have Stripe's `event` shape (fixtures3.json, as vendored in the offline Stripe's
stripe_emulator/shapes.json) around a `customer.updated` for a customer we do not know:
stored, queued, then recorded as ignored. Each is signed with the benchmark's secret just
before its round and posted once under a fresh id, as Stripe sends them, by `wrk -t2 -c16`
with bench/wrk_webhooks.lua (a C load generator: a Python client on the same 2 cores caps
the server). Ingestion is what Stripe waits for: verify, store the event and its processing
task (one transaction), hand the task to the broker.

Figures: accepted events/s and p50/p99 (the median of ROUNDS rounds of SECONDS each, after a
warm-up), against the README's figure when this issue was filed (564 events/s; target 2x). Then the
queue is emptied and the Celery worker drains PROCESS_EVENTS fresh events (posted by a Python
client: an exact count); its rate is taken
from the rows' own timestamps, so worker start-up is not counted.

No wrk: says how to install it and measures ingestion with a Python client instead (labelled
so; its figure is not comparable).
"""

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.db import connection
from django.db.models import Max, Min

from bench.common import free_port
from bench.http_tasks import WRK_MISSING, wrk_run
from billing.models import EventState, WebhookEvent
from saas.outbox.models import OutboxMessage
from stripe_emulator.fixtures import shape
from stripe_emulator.webhooks import sign

SECONDS = int(os.environ.get("BENCH_WEBHOOK_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_WEBHOOK_ROUNDS", "3"))
WARMUP_SECONDS = 2
# Events prepared per second of a round: above what 2 cores can ingest, so none repeats.
EVENTS_PER_SECOND_MAX = 4000
PROCESS_EVENTS = 2000
WRK_THREADS = 2
WRK_CONNECTIONS = 16
GUNICORN_WORKERS = 2
WORKER_CONCURRENCY = 2
PYTHON_CLIENT_THREADS = 4
# The README's figure when issue 14 was filed (2026-11-24 make bench, a Python client).
BASELINE_EVENTS_PER_S = 564
TARGET_RATIO = 2.0
SECRET = "whsec_bench"  # noqa: S105 - signs the benchmark's own events
PREFIX = "evt_bench_"
REPO = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "wrk_webhooks.lua"
URL = "/api/v1/billing/stripe/webhook/"
PROCESS_TASK = "billing.webhooks.tasks.webhook_event_process_task"


def _say(message: str) -> None:
    print(f"[bench webhooks] {message}", file=sys.stderr, flush=True)


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
        bodies.append(json.dumps(event, indent=2))  # Stripe sends them pretty-printed
    return bodies


def events_file(path: Path, bodies: list[str], secret: str) -> None:
    """The records bench/wrk_webhooks.lua reads: "<signature>\\t<length>\\n<body>" each,
    signed now (Stripe's tolerance is 5 minutes)."""
    with path.open("wb") as out:
        for body in bodies:
            raw = body.encode()
            out.write(f"{sign(body, secret)}\t{len(raw)}\n".encode() + raw)


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=REPO, env=env)  # noqa: S603


def _gunicorn(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}"]
    process = _start([*command, "-w", str(GUNICORN_WORKERS), "--log-level", "warning"], env)
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


def _wrk_round(wrk: str, base: str, tag: str, seconds: int) -> dict[str, Any]:
    """Fresh events through wrk for `seconds`: more are prepared than the server can take."""
    count = EVENTS_PER_SECOND_MAX * seconds
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as scratch:
        path = Path(scratch) / "events"
        events_file(path, _bodies(count, tag), SECRET)
        command = [wrk, f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s"]
        command += ["--timeout", "10s", "-s", str(LUA), "-H", f"Host: {settings.BASE_DOMAIN}"]
        command += [base + URL, "--", str(path), str(WRK_THREADS)]
        result, output = wrk_run(command, seconds=seconds, what="signed events")
    if "WRK_EXHAUSTED" in output:
        raise RuntimeError(
            f"more than {count} events in {seconds} s: raise EVENTS_PER_SECOND_MAX in "
            "bench/webhooks.py (a repeated event id takes the cheaper duplicate path)"
        )
    return result


def _python_round(base: str, tag: str, count: int) -> dict[str, Any]:
    """Without wrk: a bounded pool of Python client threads (it shares the cores)."""
    bodies = _bodies(count, tag)
    sessions = [requests.Session() for _ in range(PYTHON_CLIENT_THREADS)]

    def send(index: int) -> list[float]:
        latencies = []
        for body in bodies[index::PYTHON_CLIENT_THREADS]:
            headers = {
                "Host": settings.BASE_DOMAIN,
                "Content-Type": "application/json",
                "Stripe-Signature": sign(body, SECRET),
            }
            started = time.perf_counter()
            answer = sessions[index].post(base + URL, data=body.encode(), headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200:
                raise RuntimeError(f"webhook answered {answer.status_code}: {answer.text[:200]}")
        return latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(PYTHON_CLIENT_THREADS) as pool:
        latencies = [ms for part in pool.map(send, range(PYTHON_CLIENT_THREADS)) for ms in part]
    seconds = time.perf_counter() - started
    return {
        "requests": count,
        "seconds": round(seconds, 3),
        "requests_per_s": count / seconds,
        "p50_ms": statistics.median(latencies),
        "p99_ms": _percentile(latencies, 0.99),
    }


def _queue_purge(queue: str) -> None:
    """Drops the tasks the ingestion rounds queued: the worker is measured on fresh ones."""
    from config.celery import app

    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(queue)


def _forget_events() -> None:
    events = WebhookEvent.objects.filter(stripe_event_id__startswith=PREFIX)
    pks = list(events.values_list("pk", flat=True))
    for start in range(0, len(pks), 5000):
        OutboxMessage.objects.filter(
            task=PROCESS_TASK, kwargs__event_pk__in=pks[start : start + 5000]
        ).delete()
    events.delete()


def _vacuum() -> None:
    """Every run inserts and deletes tens of thousands of events: vacuumed before the rounds,
    the tables and their indexes are the same at each run's start, whatever autovacuum did
    since the last."""
    with connection.cursor() as cursor:
        for table in (WebhookEvent._meta.db_table, OutboxMessage._meta.db_table):
            cursor.execute(f"VACUUM ANALYZE {table}")  # noqa: S608 - our model's table


def _drain(env: dict[str, str], count: int) -> float:
    """Events processed per second, from the first start to the last finish."""
    command = [sys.executable, "-m", "celery", "-A", "config", "worker"]
    command += ["-c", str(WORKER_CONCURRENCY), "--loglevel", "warning"]
    worker = _start([*command, "--without-heartbeat", "--without-gossip", "--without-mingle"], env)
    events = WebhookEvent.objects.filter(stripe_event_id__startswith=PREFIX + "process_")
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
    return events.count() / (span["last"] - span["first"]).total_seconds()


def run() -> list[dict[str, Any]]:
    wrk = shutil.which("wrk")
    if wrk is None:
        _say(WRK_MISSING.replace("HTTP figures are", "webhook figures use a Python client"))
    _forget_events()
    _vacuum()
    queue = f"bench-webhooks-{os.getpid()}"
    env = {
        **os.environ,
        "STRIPE_WEBHOOK_SECRETS": SECRET,
        # A queue of its own: a dev worker on this Redis must not take the benchmark's tasks.
        "CELERY_QUEUE": queue,
    }
    rounds: list[dict[str, Any]] = []
    try:
        server, base = _gunicorn(env)
        try:
            if wrk:
                _wrk_round(wrk, base, "warm", WARMUP_SECONDS)
                for number in range(1, ROUNDS + 1):
                    rounds.append(_wrk_round(wrk, base, f"run{number}", SECONDS))
                    _say(
                        f"round {number}/{ROUNDS}: {rounds[-1]['requests_per_s']:.0f} events/s, "
                        f"p50 {rounds[-1]['p50_ms']:.2f} ms, p99 {rounds[-1]['p99_ms']:.2f} ms"
                    )
            else:
                _python_round(base, "warm", 100)
                rounds.append(_python_round(base, "run", PROCESS_EVENTS))
            _queue_purge(queue)
            _forget_events()
            _python_round(base, "process", PROCESS_EVENTS)
        finally:
            server.terminate()
            server.wait(30)
        processing_rate = _drain(env, PROCESS_EVENTS)
    finally:
        with contextlib.suppress(Exception):
            _queue_purge(queue)
        _forget_events()
    rate = statistics.median(r["requests_per_s"] for r in rounds)
    return [
        {
            "bench": "webhook_ingest",
            "client": f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS}" if wrk else "python threads",
            "gunicorn_workers": GUNICORN_WORKERS,
            "events_per_round": rounds[0]["requests"],
            "rounds_events_per_s": [round(r["requests_per_s"]) for r in rounds],
            "events_per_s": round(rate),
            "p50_ms": round(statistics.median(r["p50_ms"] for r in rounds), 2),
            "p99_ms": round(statistics.median(r["p99_ms"] for r in rounds), 2),
            "baseline_events_per_s": BASELINE_EVENTS_PER_S,
            "ratio_to_baseline": round(rate / BASELINE_EVENTS_PER_S, 2),
            "ratio_target": TARGET_RATIO,
            "ratio_met": rate / BASELINE_EVENTS_PER_S >= TARGET_RATIO,
        },
        {
            "bench": "webhook_process",
            "n": PROCESS_EVENTS,
            "worker_concurrency": WORKER_CONCURRENCY,
            "events_per_s": round(processing_rate),
        },
    ]
