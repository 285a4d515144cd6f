"""Calling the SCIM service in tests: a token made through the service, a client on an
organization's host that sends it, and the RFC 7644 error shape."""

import json
from typing import Any

from rest_framework.test import APIClient

from accounts.scim.services import scim_token_create
from tests.factories import Org
from tests.support.http import host_of

SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


def scim_token(org: Org, name: str = "IdP") -> str:
    """A SCIM token of `org`'s organization, made by its acting member."""
    return scim_token_create(tenant=org.tenant, user_id=org.user.pk, name=name).raw


class ScimClient:
    """Sends SCIM requests (application/scim+json bodies) to /scim/v2/ on one host."""

    def __init__(self, org: Org, token: str | None):
        self.org = org
        self.client = APIClient(HTTP_HOST=host_of(org.tenant))
        if token is not None:
            self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    def call(self, method: str, path: str, body: Any = None, **extra: Any) -> Any:
        kwargs: dict[str, Any] = dict(extra)
        if body is not None:
            kwargs["data"] = body if isinstance(body, str | bytes) else json.dumps(body)
            kwargs["content_type"] = SCIM_JSON
        return getattr(self.client, method.lower())(f"/scim/v2/{path}", **kwargs)

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/scim/v2/{path}", params)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        response = self.call(method, path, body)
        assert response.status_code in (200, 201, 204), response.content
        return response.json() if response.content else {}


def scim_client(org: Org, token: str | None = None) -> ScimClient:
    """A SCIM client on `org`'s host with `token` (a new one of `org` by default)."""
    return ScimClient(org, token if token is not None else scim_token(org))


def assert_scim_error(response: Any, status: int, scim_type: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(SCIM_JSON), response["Content-Type"]
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    assert body["detail"]
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return dict(body)


def user_body(email: Any, **fields: Any) -> dict[str, Any]:
    return {"schemas": [USER_SCHEMA], "userName": email, **fields}


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}
