"""Calling the API in tests: bearer credentials, the host of an organization, and checks of
the answers every endpoint shares (the one error format, no caching of secrets)."""

from typing import Any

import requests
import requests.auth
from django.conf import settings

from accounts.models import Membership, User
from accounts.tokens import tenant_tokens_issue
from tenants.models import Tenant
from tenants.services import tenant_domain_for


class BearerAuth(requests.auth.AuthBase):
    def __init__(self, token: str):
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def host_of(tenant: Tenant | None) -> str:
    """An organization's host, or the public host for None."""
    return tenant_domain_for(tenant.slug) if tenant else settings.BASE_DOMAIN


def access_token(tenant: Tenant, user: User) -> str:
    """An access token of `user` on `tenant`, with the role the membership has."""
    role = Membership.objects.get(tenant=tenant, user=user).role
    return str(tenant_tokens_issue(user=user, tenant=tenant, role=role).access_token)


def assert_error(response: Any, status: int, code: str | None = None) -> dict:
    """`response` is the one error format with `status` (and `code`); returns the error."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) >= {"code", "message", "request_id"}
    assert error["request_id"] == response["X-Request-ID"]
    if code:
        assert error["code"] == code
    return dict(error)


def assert_no_store(response: Any) -> None:
    """An answer carrying credentials or secrets that no cache may keep."""
    assert response["Cache-Control"] == "no-store", response.headers
    assert response["Pragma"] == "no-cache", response.headers
