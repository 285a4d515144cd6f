"""Shared fixtures. Tests run against a real PostgreSQL (a test database of their own) and a
real Redis, both found or started by `saas test`."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import requests.auth
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from psycopg import sql
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import Membership, Role, User
from accounts.services import membership_create
from accounts.tokens import tenant_tokens_issue
from billing import gateway
from billing.models import Plan
from billing.services.catalog import catalog_seed_defaults
from saas.redis_breaker import breaker as redis_breaker
from stripe_emulator.server import EmulatorServer
from tenants.db import schema_activate_public
from tenants.models import Tenant
from tenants.organizations import organization_open
from tenants.resolution import tenant_cache_invalidate
from tenants.services import tenant_domain_for
from tests.factories import make_user
from tests.services import SmtpSink, start_celery_worker

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Tests roll back without committing, so no on-commit invalidation runs, and ids repeat
    from run to run: start every test with an empty cache (this run's key prefix only) and a
    new host-cache generation, with Redis not skipped because an earlier test's call timed
    out (saas.redis_breaker)."""
    redis_breaker.reset()
    cache.delete_pattern("*")  # type: ignore[attr-defined]
    tenant_cache_invalidate()


@pytest.fixture(scope="session", autouse=True)
def _stripe_emulator() -> Iterator[EmulatorServer]:
    """Every test (and the Celery worker) talks to one offline Stripe, never the real one."""
    server = EmulatorServer(port=0, webhook_backoff=0.05, webhook_max_attempts=4).start()
    settings.STRIPE_API_BASE = server.url
    settings.STRIPE_SECRET_KEY = "sk_test_emulator"
    os.environ["STRIPE_API_BASE"] = server.url
    os.environ["STRIPE_SECRET_KEY"] = "sk_test_emulator"
    gateway.reset_client()
    yield server
    server.stop()


@pytest.fixture
def stripe_emulator(_stripe_emulator: EmulatorServer) -> EmulatorServer:
    """The session's emulator with fresh state."""
    _stripe_emulator.reset()
    return _stripe_emulator


@pytest.fixture(autouse=True)
def _plan_catalog(request: pytest.FixtureRequest) -> None:
    """The default plans come from a data migration, but transactional tests flush every
    table: put them back for any test that uses the database."""
    names = request.fixturenames
    if "transactional_db" in names:
        request.getfixturevalue("transactional_db")
    elif "db" in names:
        request.getfixturevalue("db")
    else:
        return
    if not Plan.objects.exists():
        catalog_seed_defaults()


@pytest.fixture
def make_tenant(db: None) -> Callable[..., Tenant]:
    def make(slug: str, **kwargs: object) -> Tenant:
        tenant = organization_open(name=slug.title(), slug=slug, **kwargs)  # type: ignore[arg-type]
        tenant_cache_invalidate()
        return tenant

    return make


@pytest.fixture
def make_member(db: None) -> Callable[..., User]:
    def make(tenant: Tenant, role: str = Role.MEMBER, user: User | None = None) -> User:
        member: User = user or make_user()
        membership_create(user=member, tenant_id=tenant.pk, role=role)  # as joining does
        return member

    return make


def host_of(tenant: Tenant | None) -> str:
    return tenant_domain_for(tenant.slug) if tenant else settings.BASE_DOMAIN


@pytest.fixture
def client_for() -> Callable[..., APIClient]:
    """An API client aimed at a tenant's host (or the public host), optionally logged in."""

    def make(tenant: Tenant | None, user: User | None = None) -> APIClient:
        client = APIClient(HTTP_HOST=host_of(tenant))
        if user is not None:
            assert tenant is not None, "tokens are minted for a tenant"
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(tenant, user)}")
        return client

    return make


def access_token(tenant: Tenant, user: User) -> str:
    role = Membership.objects.get(tenant=tenant, user=user).role
    return str(tenant_tokens_issue(user=user, tenant=tenant, role=role).access_token)


def drop_tenant_schemas() -> None:
    """Transactional tests commit: remove what they provisioned."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%%'")
        for (schema,) in cursor.fetchall():
            cursor.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    schema_activate_public()


@pytest.fixture
def committed(transactional_db: None) -> Iterator[None]:
    """For tests that need real commits (other processes, on-commit hooks)."""
    yield
    _other_sessions_settle()
    drop_tenant_schemas()


def _other_sessions_settle(timeout: float = 15.0) -> None:
    """Wait (bounded) until the session's Celery worker, if one runs, has run the tasks this
    test's commits handed over (a signup's Stripe customer: the outbox row goes when its task
    ran) and no other session of the test database is mid-statement or mid-transaction.
    Dropping schemas and truncating tables under a task's locks deadlocks, and the next test
    finds this one's rows."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
            )
            busy = cursor.fetchone()[0]
            if _worker_running:
                cursor.execute(
                    "SELECT count(*) FROM public.outbox_outboxmessage "
                    "WHERE sent_at IS NOT NULL AND due_at <= now()"
                )
                busy += cursor.fetchone()[0]
            if busy == 0:
                return
            time.sleep(0.05)


_worker_running = False  # the session's Celery worker (celery_worker) has been started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_database_url() -> str:
    db = connection.settings_dict
    host = str(db["HOST"]).replace("/", "%2F")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{db['USER']}@{host}{port}/{db['NAME']}"


def subprocess_env(**overrides: str) -> dict[str, str]:
    """The environment a child process needs to share this test run's database and Redis."""
    return {**os.environ, "DATABASE_URL": test_database_url(), **overrides}


class BearerAuth(requests.auth.AuthBase):
    def __init__(self, token: str):
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


class RunningServer:
    def __init__(self, process: subprocess.Popen, port: int):
        self.process, self.port = process, port
        self.url = f"http://127.0.0.1:{port}"

    def get(self, path: str, host: str, **kwargs: object) -> requests.Response:
        return requests.get(self.url + path, headers={"Host": host}, timeout=10, **kwargs)  # type: ignore[arg-type]

    def login(self, host: str, email: str, password: str) -> "BearerAuth":
        response = self.post(
            "/api/v1/auth/login/", host, json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        return BearerAuth(response.json()["access"])

    def post(self, path: str, host: str, **kwargs: object) -> requests.Response:
        return requests.post(self.url + path, headers={"Host": host}, timeout=10, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def start_server() -> Iterator[Callable[..., RunningServer]]:
    """Runs the real WSGI app under gunicorn in a child process, on a free loopback port, with
    the production gunicorn settings (saas.observability.gunicorn_conf). `output` takes its
    stdout and stderr (a file), `log_level` is gunicorn's."""
    started: list[subprocess.Popen] = []

    def start(*, output: Any = None, log_level: str = "warning", **env: str) -> RunningServer:
        port = free_port()
        process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:saas.observability.gunicorn_conf",
                "config.wsgi",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                "1",
                "--log-level",
                log_level,
            ],
            cwd=REPO,
            env=subprocess_env(**env),
            stdout=output,
            stderr=output,
        )
        started.append(process)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                return RunningServer(process, port)
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or slow to boot
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port()).start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def celery_worker(smtp_sink: SmtpSink, django_db_setup: None) -> Iterator[subprocess.Popen]:
    """A real Celery worker (child process) on this run's queue, database and SMTP sink."""
    global _worker_running
    env = subprocess_env(EMAIL_URL=f"smtp://127.0.0.1:{smtp_sink.port}")
    worker = start_celery_worker(env, str(REPO))
    _worker_running = True
    yield worker
    _worker_running = False
    worker.terminate()
    worker.wait(timeout=20)


@pytest.fixture
def mail(committed: None, celery_worker: subprocess.Popen, smtp_sink: SmtpSink) -> SmtpSink:
    """For tests that check email: commits (tasks are queued on commit) and has a worker."""
    assert celery_worker.poll() is None, "celery worker died"
    return smtp_sink


@pytest.fixture
def tight_rates(settings: Any) -> Iterator[dict[str, Any]]:
    """The throttle rates, for a test to tighten (restored after it)."""
    rates: dict[str, Any] = {
        **api_settings.DEFAULT_THROTTLE_RATES,
        "login_account": "3/min",
        "login_ip": "5/min",
        "password_reset_ip": "2/hour",
    }
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates
    yield rates
    SimpleRateThrottle.THROTTLE_RATES = original


@pytest.fixture
def frozen_rate_window(monkeypatch: pytest.MonkeyPatch) -> float:
    """The API rate limiter's clock stopped 10 s into a minute window, so a test counting
    requests against the per-minute limit cannot see the window roll over mid-test."""
    from types import SimpleNamespace

    from billing import throttling

    now = 1_800_000_010.0
    monkeypatch.setattr(throttling, "time", SimpleNamespace(time=lambda: now))
    return now
