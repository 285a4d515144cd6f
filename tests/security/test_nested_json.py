"""Deeply nested JSON is a 400 in the one error format, never a 500 (RecursionError in the
decoder), on the public signup and on a tenant endpoint; ordinary bodies still parse."""

import json

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from tests.support.http import assert_error

pytestmark = pytest.mark.django_db

BOMB = "[" * 50_000 + "]" * 50_000  # 100 kB, deeper than the decoder can recurse


def _post(client: APIClient, path: str, body: str):
    return client.post(path, body, content_type="application/json")


def test_a_bracket_bomb_on_the_public_signup_is_a_400() -> None:
    response = _post(APIClient(HTTP_HOST="localhost"), "/api/v1/signup/", BOMB)
    error = assert_error(response, 400, "malformed_request")
    assert "nested more than 32 levels" in error["message"]


def test_nesting_beyond_the_limit_is_refused_on_a_tenant_endpoint(
    make_tenant, make_member, client_for
) -> None:
    acme = make_tenant("acme")
    client = client_for(acme, make_member(acme, Role.ADMIN))
    assert_error(_post(client, "/api/v1/projects/", BOMB), 400, "malformed_request")

    def nested(levels: int) -> object:
        value: object = "x"
        for _ in range(levels - 1):
            value = {"a": value}
        return value

    deep = json.dumps({"name": "Deep", "description": nested(33)})
    assert_error(_post(client, "/api/v1/projects/", deep), 400, "malformed_request")
    # Within the limit the body parses and the serializer answers about the field.
    within = json.dumps({"name": "Deep", "description": nested(31)})
    assert_error(_post(client, "/api/v1/projects/", within), 400, "invalid")
    ok = _post(client, "/api/v1/projects/", json.dumps({"name": "Fine"}))
    assert ok.status_code == 201
