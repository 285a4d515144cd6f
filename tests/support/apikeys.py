"""API keys in tests: one made over the API by a member, and a client that sends it."""

from typing import Any

from rest_framework.test import APIClient

from tests.factories import Org
from tests.support.http import host_of

PATH = "/api/v1/api-keys/"


def api_key(org: Org, *scopes: str, name: str = "script", **fields: Any) -> dict[str, Any]:
    """A key made by `org`'s acting member over the API (the body, with `key`)."""
    body = {"name": name, "scopes": list(scopes or ("read",)), **fields}
    return org.ok("post", "api-keys/", body)


def key_client(org: Org, raw: str) -> APIClient:
    """A client on `org`'s host sending `raw` as its bearer value."""
    client = APIClient(HTTP_HOST=host_of(org.tenant))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client
