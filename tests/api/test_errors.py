"""One error format for every error, on both hosts."""

import pytest
from rest_framework.test import APIClient

from tests.support.http import assert_error


def test_unknown_route_is_json_404_on_both_hosts(db, client_for, make_tenant) -> None:
    assert_error(client_for(None).get("/api/v1/nope/"), 404, "not_found")
    assert_error(client_for(make_tenant("acme")).get("/api/v1/nope/"), 404, "not_found")


def test_missing_credentials_is_401(db, client_for, make_tenant) -> None:
    response = client_for(make_tenant("acme")).get("/api/v1/projects/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"]


def test_garbage_token_is_401(db, client_for, make_tenant, make_member) -> None:
    tenant = make_tenant("acme")
    client = client_for(tenant, make_member(tenant))
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    assert_error(client.get("/api/v1/projects/"), 401, "token_not_valid")


def test_other_tenants_token_is_401(db, client_for, make_tenant, make_member) -> None:
    make_tenant("acme")
    beta = make_tenant("beta")
    client = client_for(beta, make_member(beta))
    client.defaults["HTTP_HOST"] = "acme.localhost"
    assert_error(client.get("/api/v1/projects/"), 401, "token_wrong_tenant")


def test_role_without_the_capability_is_403(db, client_for, make_tenant, make_member) -> None:
    tenant = make_tenant("acme")
    response = client_for(tenant, make_member(tenant, role="billing")).get("/api/v1/projects/")
    assert_error(response, 403, "permission_denied")


def test_wrong_method_is_405_with_allow(db, client_for) -> None:
    response = client_for(None).get("/api/v1/signup/")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"]


def test_validation_errors_name_each_field(db, client_for, make_tenant, make_member) -> None:
    tenant = make_tenant("acme")
    response = client_for(tenant, make_member(tenant)).post(
        "/api/v1/projects/", {"name": "", "description": 7}, format="json"
    )
    error = assert_error(response, 400, "invalid")
    assert set(error["fields"]) == {"name", "description"}  # type errors beside the others
    response = client_for(tenant, make_member(tenant)).post(
        "/api/v1/projects/", {"name": ""}, format="json"
    )
    assert set(assert_error(response, 400, "invalid")["fields"]) == {"name"}


def test_unsupported_media_type_is_415(db, client_for) -> None:
    response = client_for(None).post("/api/v1/signup/", "name=x", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_body_without_content_length_is_not_read(db, make_tenant, settings) -> None:
    """A chunked body carries no Content-Length; Django reads none of it (so no limit can be
    bypassed that way) and the request fails as an empty body: 4xx, never 500."""
    from django.test import RequestFactory

    from config.wsgi import application

    factory = RequestFactory()
    request = factory.post(
        "/api/v1/signup/", data="{" + " " * 2_000_000 + "}", content_type="application/json"
    )
    request.META.pop("CONTENT_LENGTH", None)
    request.META["HTTP_HOST"] = "localhost"
    environ = request.META
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"] = status

    body = b"".join(application(environ, start_response))
    assert captured["status"].startswith("400"), captured
    assert b'"This field is required."' in body  # the body was not seen at all


@pytest.mark.parametrize("path", ["/boom/", "/plain-boom/"])
def test_server_error_is_500_with_request_id_and_no_traceback(
    db, make_tenant, settings, path
) -> None:
    settings.TENANT_URLCONF = "tests.api.urls_boom"
    client = APIClient(HTTP_HOST="acme.localhost", raise_request_exception=False)
    make_tenant("acme")

    response = client.get(path, HTTP_X_REQUEST_ID="req-12345678")

    error = assert_error(response, 500, "server_error")
    assert error["request_id"] == "req-12345678"
    assert b"hunter2" not in response.content
    assert b"Traceback" not in response.content
    assert b"internals" not in response.content


def test_a_missing_row_that_is_a_bug_is_a_500_logged_not_a_404(
    db, make_tenant, settings, caplog
) -> None:
    """Only the not-found errors raised on purpose are 404s: a DoesNotExist from a lookup
    that should not miss is a server error, with its request id, logged loudly."""
    settings.TENANT_URLCONF = "tests.api.urls_boom"
    client = APIClient(HTTP_HOST="acme.localhost", raise_request_exception=False)
    make_tenant("acme")

    with caplog.at_level("ERROR", logger="api.errors"):
        response = client.get("/missing-row/", HTTP_X_REQUEST_ID="req-missing-1")

    error = assert_error(response, 500, "server_error")
    assert error["request_id"] == "req-missing-1"
    (logged,) = [r for r in caplog.records if r.name == "api.errors"]
    assert logged.exc_info is not None
    assert logged.exc_info[0].__name__ == "DoesNotExist"


def test_unsafe_request_ids_are_replaced(db, client_for) -> None:
    response = client_for(None).get("/api/v1/nope/", HTTP_X_REQUEST_ID="<script>")
    assert response["X-Request-ID"] != "<script>"
    assert len(response["X-Request-ID"]) == 32


def test_disallowed_host_is_json_400(db) -> None:
    response = APIClient(HTTP_HOST="evil.example.com").get("/api/v1/projects/")
    assert_error(response, 400, "invalid_host")
