"""GET /api/v1/projects/<id>/tasks/ (20 per page, JWT) under gunicorn on loopback: requests/s
and p50/p99 tenant-routed, against the same view with tenancy switched off
(bench/settings_single_schema.py) in the same run, plus queries per request with 1 and 20
tasks on the page (target: constant).

Both servers are `gunicorn -w 2` on 127.0.0.1, driven by CLIENT_THREADS threads with
keep-alive sessions, N requests each after a warm-up; the two are measured alternately ROUNDS
times and the mean throughput is compared. Target: tenant-routed >= 0.9x the baseline.
"""

import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, Role, User
from accounts.tokens import tenant_tokens_issue
from bench.common import free_port, tenants_drop, unlimited_plan_for
from billing.models import Plan
from saas.workspace.models import Project, Task
from tenants.db import schema_activate_public
from tenants.models import Tenant
from tenants.organizations import organization_open
from tenants.services import tenant_domain_for

REPO = Path(__file__).resolve().parent.parent
SLUG = "bench-tasks"
EMAIL = "owner@bench-tasks.test"
N = int(os.environ.get("BENCH_TASKS_REQUESTS", "2000"))
WARMUP = 200
ROUNDS = 2
CLIENT_THREADS = 4
GUNICORN_WORKERS = 2


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _cleanup() -> None:
    tenants_drop(Tenant.objects.filter(slug=SLUG))
    User.objects.filter(email=EMAIL).delete()
    Plan.objects.filter(code=SLUG).delete()


def _setup() -> tuple[Tenant, str, int]:
    """A tenant on a plan whose API rate the bench cannot reach, a project with 60 tasks."""
    tenant = organization_open(name="Bench tasks", slug=SLUG)
    unlimited_plan_for(tenant, SLUG)
    owner = User.objects.create_user(email=EMAIL)
    Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
    token = str(tenant_tokens_issue(user=owner, tenant=tenant, role=Role.OWNER).access_token)
    with tenant:
        project = Project.objects.create(name="Bench", created_by=owner)
        Task.objects.bulk_create(
            Task(project=project, title=f"Task {i}", created_by=owner, assignee=owner)
            for i in range(60)
        )
    return tenant, token, project.pk


def _queries(tenant: Tenant, token: str, path: str) -> int:
    client = Client(HTTP_HOST=tenant_domain_for(SLUG), HTTP_AUTHORIZATION=f"Bearer {token}")
    client.get(path)  # warm-up: host, access and plan-limit caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.content
    schema_activate_public()
    return len(captured.captured_queries)


def _gunicorn(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}"]
    command += ["-w", str(GUNICORN_WORKERS), "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=REPO, env=env)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(base + "/healthz", timeout=5)
            return process, base
        except requests.RequestException:  # not listening yet, or busy booting
            time.sleep(0.2)
    process.kill()
    process.wait(30)
    raise RuntimeError("gunicorn did not start")


def _load(base: str, path: str, headers: dict[str, str], count: int) -> tuple[list[float], float]:
    def send(share: int) -> list[float]:
        session, latencies = requests.Session(), []
        for _ in range(share):
            started = time.perf_counter()
            response = session.get(base + path, headers=headers, timeout=10)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200 or len(response.json()["results"]) != 20:
                raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
        return latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        parts = pool.map(send, [count // CLIENT_THREADS] * CLIENT_THREADS)
        latencies = [ms for part in parts for ms in part]
    return latencies, time.perf_counter() - started


def _measure(settings_module: str, tenant: Tenant, path: str, token: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "BENCH_SINGLE_SCHEMA": tenant.schema_name,
        # No access log line per request (the same for both modes): measure the app.
        "LOG_LEVEL": "WARNING",
    }
    headers = {"Host": tenant_domain_for(SLUG), "Authorization": f"Bearer {token}"}
    server, base = _gunicorn(env)
    try:
        _load(base, path, headers, WARMUP)
        latencies, seconds = _load(base, path, headers, N)
    finally:
        server.terminate()
        server.wait(30)
    return {"rps": len(latencies) / seconds, "latencies": latencies}


def _figure(mode: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    latencies = [ms for run in runs for ms in run["latencies"]]
    return {
        "bench": "tasks_list_throughput",
        "mode": mode,
        "n": sum(len(run["latencies"]) for run in runs),
        "gunicorn_workers": GUNICORN_WORKERS,
        "client_threads": CLIENT_THREADS,
        "requests_per_s": round(statistics.mean(run["rps"] for run in runs)),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(_percentile(latencies, 0.99), 1),
    }


def run() -> list[dict[str, Any]]:
    _cleanup()
    try:
        tenant, token, project_id = _setup()
        path = f"/api/v1/projects/{project_id}/tasks/"
        queries_20 = _queries(tenant, token, path)
        queries_1 = _queries(tenant, token, path + "?page_size=1")
        routed: list[dict[str, Any]] = []
        single: list[dict[str, Any]] = []
        for _ in range(ROUNDS):
            routed.append(_measure("config.settings", tenant, path, token))
            single.append(_measure("bench.settings_single_schema", tenant, path, token))
    finally:
        _cleanup()
    figures = [_figure("tenant_routed", routed), _figure("single_schema", single)]
    ratio = figures[0]["requests_per_s"] / figures[1]["requests_per_s"]
    figures.append(
        {
            "bench": "tasks_list_throughput",
            "ratio_routed_to_single": round(ratio, 2),
            "target": 0.9,
            "met": ratio >= 0.9,
        }
    )
    figures.append(
        {
            "bench": "tasks_list_queries",
            "path": "/api/v1/projects/<id>/tasks/",
            "queries_1_row": queries_1,
            "queries_20_rows": queries_20,
            "constant": queries_1 == queries_20,
        }
    )
    return figures


if __name__ == "__main__":
    import json

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    for figure in run():
        print(json.dumps(figure), flush=True)
