"""Bearer API keys (`sk_live_...`) on a tenant's API.

A key is accepted only on its organization's host; anywhere else it is as unknown as a key
that does not exist (the same 401). It acts as the member who made it, with the role they
hold now (accounts.access), narrowed by its scopes. Refused (401) once revoked, expired,
retired after a rotation's overlap, or when its creator is no longer an active member.

A key is a machine credential: the organization's MFA policy (which holds back an owner's or
admin's login without a second factor) does not apply to it, as it does not to an OAuth2
client-credentials application. Making a key needs the person's own login, which the policy
does hold back.

Warm, a request costs no query: the key's entry, the creator's access and the plan's rate
come from accounts.prefetch's one Redis round trip (accounts.apikeys.cache).
"""

import time
from datetime import UTC, datetime
from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from saas.audit.context import client_ip

from ..access import member_access_get
from ..grants import TenantGrant
from ..models import User
from ..scopes import capabilities_of_scopes
from .cache import REFUSED, KeyEntry, entry_decode, entry_fill, entry_from_key, entry_read
from .selectors import KEY_MARKER, api_key_find, key_hash
from .services import api_key_used

KIND = "api_key"


def _invalid() -> AuthenticationFailed:
    # One answer for unknown, revoked, expired and another organization's keys.
    return AuthenticationFailed(
        "The API key is invalid, revoked or expired.", code="api_key_invalid"
    )


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not value.startswith(KEY_MARKER):
        return None
    return value


class ApiKeyAuthentication(BaseAuthentication):
    """Between TenantJWTAuthentication and TenantOAuth2Authentication: a bearer value that
    starts with `sk_` is an API key or nothing."""

    def authenticate(self, request: Request) -> tuple[User, TenantGrant] | None:
        raw = _bearer(request)
        if raw is None:
            return None
        entry = self._entry(request, raw)
        tenant = getattr(request, "tenant", None)
        if entry is None or tenant is None or entry.tenant_id != tenant.pk:
            raise _invalid()
        if not entry.usable(time.time()):  # this module's clock, which tests may move
            raise _invalid()
        prefetched = getattr(request, "access_prefetched", None)  # accounts.prefetch's read
        if prefetched is not None and prefetched[:2] == (tenant.pk, entry.user_id):
            access = member_access_get(
                user_id=entry.user_id, tenant_id=tenant.pk, cached=prefetched[2]
            )
        else:
            access = member_access_get(user_id=entry.user_id, tenant_id=tenant.pk)
        if access is None:
            raise AuthenticationFailed(
                "The API key's creator is no longer a member of this organization.",
                code="access_revoked",
            )
        grant = TenantGrant(
            tenant_id=tenant.pk,
            user_id=access.user_id,
            role=access.role,
            kind=KIND,
            scope_capabilities=capabilities_of_scopes(entry.scopes),
            token_id=str(entry.key_id),
            client_id=entry.prefix,  # names the key in audit entries
        )
        return access.as_user(), grant

    def _entry(self, request: Request, raw: str) -> KeyEntry | None:
        """The cached entry (read by accounts.prefetch, or now), else the row, which then
        fills the cache and records the use (at most once a minute per key)."""
        hashed = key_hash(raw)
        prefetched = getattr(request, "apikey_prefetched", None)
        if prefetched is not None and prefetched[0] == raw:
            cached: Any = entry_decode(prefetched[1])
        else:
            cached = entry_read(hashed)
        if cached == REFUSED:
            return None
        if isinstance(cached, KeyEntry):
            return cached
        key = api_key_find(raw=raw)
        tenant = getattr(request, "tenant", None)
        if key is None or tenant is None or key.tenant_id != tenant.pk:
            return None
        if not key.usable_at(datetime.fromtimestamp(time.time(), tz=UTC)):
            return None
        key.key_hash = hashed
        entry_fill(key)
        api_key_used(key_id=key.pk, last_used_at=key.last_used_at, ip=client_ip(request))
        return entry_from_key(key)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
