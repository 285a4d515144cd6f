"""The database backend (tenants/postgresql_backend): Django's per-request health check is the
`SET search_path` every request's first cursor sends anyway, so a connection the server
dropped between requests is replaced without an error, and a healthy one costs no `SELECT 1`.

Requests go through Django's WSGIHandler itself, as gunicorn's worker calls it: the test
client disconnects the request_started handler that arms the per-request check."""

from typing import Any

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.test import RequestFactory

from tests.conftest import host_of, subprocess_env


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


def _get(path: str) -> int:
    """One request through the WSGI handler; its status code."""
    environ = RequestFactory().get(path, HTTP_HOST=host_of(None)).environ
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        statuses.append(status)

    body = WSGIHandler()(environ, start_response)
    b"".join(body)
    return int(statuses[0].split()[0])


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
    assert usability_checks == [False]  # asked only once the SET had failed
