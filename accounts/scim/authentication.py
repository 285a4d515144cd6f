"""The SCIM service's one credential: a SCIM token of the organization whose host is called.
A JWT or an OAuth2 token is not one (401), nor another organization's SCIM token, nor a
revoked one: the same 401 for each, so the answer tells nothing about other tenants."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from saas.audit.context import Actor
from saas.audit.models import ActorKind

from .selectors import scim_token_find
from .services import scim_token_used


@dataclass(frozen=True)
class ScimGrant:
    tenant_id: int
    token_id: int
    prefix: str


class ScimTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, ScimGrant]:
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != b"bearer":
            raise AuthenticationFailed("A SCIM bearer token is required.")
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Invalid SCIM token.") from None
        token = scim_token_find(raw=raw)
        tenant = getattr(request, "tenant", None)
        if token is None or tenant is None or token.tenant_id != tenant.pk:
            raise AuthenticationFailed("Invalid SCIM token.")
        scim_token_used(token=token)
        grant = ScimGrant(tenant_id=tenant.pk, token_id=token.pk, prefix=token.prefix)
        # The audit log names the token that acted (saas.audit.context reads this): the
        # identity provider is no person of the organization.
        request._request.audit_actor = Actor(  # type: ignore[attr-defined]
            kind=ActorKind.SYSTEM, app=f"scim:{token.prefix}"
        )
        return AnonymousUser(), grant

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="scim"'
