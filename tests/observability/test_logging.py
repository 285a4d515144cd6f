"""Structured logs: one JSON object per line, with the request's context on every record."""

import logging
import subprocess
import sys

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from saas.observability.logging import RequestContextFilter, TextFormatter
from tests.support.observability import json_logs

pytestmark = pytest.mark.django_db


def test_access_log_line_carries_request_tenant_user_route_status_duration(
    make_tenant, make_member, client_for
) -> None:
    acme = make_tenant("acme")
    owner = make_member(acme, Role.OWNER)
    client = client_for(acme, owner)
    with json_logs() as logs:
        response = client.get("/api/v1/projects/", HTTP_X_REQUEST_ID="req-logs-0123456789")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-logs-0123456789"
    [line] = [r for r in logs.records() if r["logger"] == "saas.access"]
    assert line["request_id"] == "req-logs-0123456789"
    assert line["tenant"] == "acme"
    assert line["user_id"] == owner.pk
    assert line["route"] == "/api/v1/projects/"
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["level"] == "INFO"
    assert line["timestamp"].endswith("+00:00")


def test_a_refused_request_is_one_line(make_tenant) -> None:
    make_tenant("acme")
    client = APIClient(HTTP_HOST="acme.localhost")
    with json_logs() as logs:
        response = client.get("/api/v1/projects/", HTTP_X_REQUEST_ID="req-denied-0123456789")
    assert response.status_code == 401
    # Not also Django's "Unauthorized: /api/v1/projects/" warning: the access line says it.
    [line] = logs.records()
    assert line["logger"] == "saas.access"
    assert line["request_id"] == "req-denied-0123456789"
    assert line["tenant"] == "acme"
    assert line["user_id"] is None
    assert line["status"] == 401


def test_other_records_of_the_request_carry_its_id(make_tenant, settings) -> None:
    settings.TENANT_URLCONF = "tests.api.urls_boom"
    make_tenant("acme")
    client = APIClient(HTTP_HOST="acme.localhost", raise_request_exception=False)
    with json_logs() as logs:
        response = client.get("/plain-boom/", HTTP_X_REQUEST_ID="req-boom-0123456789")
    assert response.status_code == 500
    by_logger = {r["logger"]: r for r in logs.records()}
    # Django's own error record for the 500, made deep inside the request.
    assert by_logger["django.request"]["request_id"] == "req-boom-0123456789"
    assert by_logger["django.request"]["tenant"] == "acme"
    assert by_logger["django.request"]["level"] == "ERROR"
    assert by_logger["saas.access"]["status"] == 500


def test_records_outside_a_request_have_no_request_id() -> None:
    with json_logs() as logs:
        logging.getLogger("tests.outside").warning("no request here")
    [record] = logs.records()
    assert record["message"] == "no request here"
    assert record["request_id"] is None


def test_text_format_is_one_readable_line() -> None:
    record = logging.LogRecord("tests.text", logging.INFO, __file__, 1, "hello %s", ("x",), None)
    RequestContextFilter().filter(record)
    line = TextFormatter().format(record)
    assert line.endswith("INFO tests.text [None] hello x")


def _settings_value(env: dict[str, str], expression: str) -> str:
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_json_by_default_in_production_text_in_dev(production_env: dict[str, str]) -> None:
    expr = "settings.LOGGING['handlers']['console']['formatter']"
    assert _settings_value(production_env, expr) == "json"
    assert _settings_value({**production_env, "DJANGO_ENV": "dev"}, expr) == "text"
    assert _settings_value({**production_env, "LOG_FORMAT": "text"}, expr) == "text"
