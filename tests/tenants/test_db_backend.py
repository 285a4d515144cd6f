"""The database backend (tenants/postgresql_backend): `SET search_path` only when a request needs
a path its connection does not have (never the wrong tenant's), and Django's per-request health
check without a `SELECT 1`: the SET when one is sent, else a poll of the idle socket. A
connection the server dropped between requests is replaced without an error either way.

Requests go through Django's WSGIHandler itself, as gunicorn's worker calls it: the test
client disconnects the request_started handler that arms the per-request check."""

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections, transaction
from django.test import RequestFactory

from accounts.models import User
from saas.workspace.services import project_create
from tenants.db import schema_activate, schema_activate_public
from tenants.models import Tenant
from tests.support.http import access_token, host_of
from tests.support.processes import subprocess_env


@pytest.fixture
def usability_checks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every `is_usable()` (Django's health check, a SELECT 1 round trip) and its answer."""
    calls: list[bool] = []
    backend = type(connections["default"])
    real = backend.is_usable

    def counted(self: Any) -> bool:
        calls.append(real(self))
        return calls[-1]

    monkeypatch.setattr(backend, "is_usable", counted)
    return calls


def _call(path: str, tenant: Tenant | None = None, token: str = "") -> tuple[int, bytes, list[str]]:
    """One request through the WSGI handler: its status code, body and SQL statements."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    environ = RequestFactory().get(path, headers=headers, HTTP_HOST=host_of(tenant)).environ
    statuses: list[str] = []
    statements: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        statuses.append(status)

    def record(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        statements.append(sql)
        return execute(sql, *args)

    with connection.execute_wrapper(record):
        response = WSGIHandler()(environ, start_response)
        body = b"".join(response)
    return int(statuses[0].split()[0]), body, statements


def _get(path: str) -> int:
    return _call(path)[0]


def _sets(statements: list[str]) -> list[str]:
    return [sql for sql in statements if sql.startswith("SET search_path")]


def _connection_search_path() -> str:
    """What the server says, asked on the raw connection (no SET of the backend's first)."""
    with connection.connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        return str(cursor.fetchone()[0])


def test_a_request_on_a_healthy_reused_connection_sends_no_select_1(
    committed: None, usability_checks: list[bool]
) -> None:
    assert _get("/api/v1/plans/") == 200  # opens the connection
    backend = connection.connection.info.backend_pid
    for _ in range(3):
        assert _get("/api/v1/plans/") == 200
    assert connection.connection.info.backend_pid == backend  # reused, checked by its SET
    assert usability_checks == []


def test_a_connection_the_server_dropped_between_requests_is_replaced_without_an_error(
    committed: None, usability_checks: list[bool]
) -> None:
    assert _get("/api/v1/plans/") == 200
    dropped = connection.connection.info.backend_pid
    with psycopg.connect(subprocess_env()["DATABASE_URL"], autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [dropped])  # a restart, an idle kill

    assert _get("/api/v1/plans/") == 200
    assert connection.connection.info.backend_pid != dropped
    assert usability_checks == [False]  # asked only once the idle socket had something to read


def test_a_request_for_the_path_its_connection_has_sends_no_set_search_path(
    committed: None, usability_checks: list[bool]
) -> None:
    assert _get("/api/v1/plans/") == 200
    for _ in range(3):
        status, _body, statements = _call("/api/v1/plans/")
        assert status == 200
        assert statements  # it queried,
        assert _sets(statements) == []  # with no SET before
    assert usability_checks == []  # and no SELECT 1: the idle socket had nothing to read
    assert _connection_search_path() == "public"


def test_each_tenant_request_runs_on_its_own_schema_when_workers_alternate_tenants(
    committed: None,
    make_tenant: Callable[..., Tenant],
    make_member: Callable[..., User],
) -> None:
    tokens, names = {}, {}
    for slug in ("acme", "globex"):
        tenant = make_tenant(slug)
        member = make_member(tenant)
        schema_activate(tenant)
        names[slug] = project_create(name=f"{slug} project", created_by=member).name
        schema_activate_public()
        tokens[slug] = (tenant, access_token(tenant, member))

    sets_sent = []
    for slug in ("acme", "acme", "globex", "globex", "acme", "globex"):
        tenant, token = tokens[slug]
        status, body, statements = _call("/api/v1/projects/", tenant, token)
        assert status == 200, body
        assert names[slug].encode() in body
        assert all(name.encode() not in body for other, name in names.items() if other != slug)
        assert _connection_search_path().split(",")[0] == tenant.schema_name
        sets_sent.append(len(_sets(statements)))
    # The first request of a tenant after another one sets its path; a repeat does not.
    assert sets_sent[1:] == [0, 1, 0, 1, 1]


def test_a_search_path_a_rollback_undid_is_set_again(
    committed: None, make_tenant: Callable[..., Tenant]
) -> None:
    """A SET is transactional: a rollback returns the connection to its earlier path, so the
    same schema selected again must be set again, not trusted."""
    acme = make_tenant("acme")
    schema_activate_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")  # the connection's path is public, outside a transaction
    schema_activate(acme)
    seen_inside = []

    def select_in_a_transaction_then_fail() -> None:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")  # SET search_path to acme, inside the transaction
            seen_inside.append(_connection_search_path())
            raise RuntimeError

    with pytest.raises(RuntimeError):
        select_in_a_transaction_then_fail()
    assert seen_inside[0].split(",")[0] == acme.schema_name
    assert _connection_search_path() == "public"  # what the rollback left

    schema_activate(acme)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schemas(false)")
        assert cursor.fetchone()[0][0] == acme.schema_name
    schema_activate_public()


def test_a_dropped_connection_is_replaced_when_the_request_sets_another_path(
    committed: None,
    make_tenant: Callable[..., Tenant],
    make_member: Callable[..., User],
    usability_checks: list[bool],
) -> None:
    acme = make_tenant("acme")
    token = access_token(acme, make_member(acme))
    assert _get("/api/v1/plans/") == 200  # the connection's path: public
    dropped = connection.connection.info.backend_pid
    with psycopg.connect(subprocess_env()["DATABASE_URL"], autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [dropped])

    status, body, statements = _call("/api/v1/projects/", acme, token)
    assert status == 200, body
    assert connection.connection.info.backend_pid != dropped
    assert len(_sets(statements)) == 2  # the SET that failed, then the one on the new connection
    assert usability_checks == [False]  # asked only once the SET had failed
