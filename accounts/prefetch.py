"""One Redis round trip per API request (issue 14).

A tenant API request with an access JWT needs three things from Redis, asked for in three
places: the tenant map's generation (tenants.resolution, before routing), the caller's member
access (accounts.access, in authentication) and the plan's rate count (billing.throttling, in
the throttle). Three round trips were 11% of a task-list request. This middleware, before
tenant resolution, asks for all three in one Lua script and leaves the answers on the request
for those three places, which fall back to asking Redis themselves when an answer is missing:

- `request.tenants_generation`: the generation (tenant resolution takes it as read);
- `request.access_prefetched`: `(tenant_id, user_id, entry)`, the decoded cache entry or None;
- `request.rate_counted`: a billing.throttling.RateCounted, only if this request was counted.

The JWT is verified here (signature, expiry, algorithm: simplejwt, as the authentication
class would) and handed on as `request.jwt_validated`, so authentication does not verify it
twice. The request is counted against the token's organization only when the token verifies
and the cache says its user is an active member there: a stranger cannot spend an
organization's rate, and what authentication then refuses (a token used on another
organization's host) was a credential of the organization it is counted against. On a cache
miss nothing is counted here; authentication loads the access from the database and the
throttle counts with its own script, as before. Redis unreachable: nothing is prefetched,
and each place fails open or falls back to the database as it always did.

An API key (accounts.apikeys) gets the same one round trip with its own script: the key's
cached entry names the tenant and user whose access and rate it reads and counts
(accounts.apikeys.cache); the key's authentication takes the entry as read.
"""

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from accounts.access import NOT_A_MEMBER, access_cache_is_member, access_cache_key
from accounts.apikeys.cache import PREFETCH_LUA, entry_decode, entry_key, prefetch_prefixes
from accounts.apikeys.selectors import KEY_MARKER, key_hash, key_well_formed
from accounts.authentication import TenantJWTAuthentication, looks_like_jwt
from accounts.tokens import TENANT_CLAIM
from billing.throttling import (
    RATE_COUNT_LUA,
    RateCounted,
    bucket_now,
    open_buckets_key,
    rate_args,
    rate_keys,
    rate_state,
    redis_client,
)
from tenants.resolution import generation_cache_key

logger = logging.getLogger("accounts.prefetch")

# KEYS: generation [, access entry, limits, rate counter, usage counter, open-buckets set]
# ARGV: [open-bucket member, rate ttl, usage ttl]
# Returns {generation} or {generation, access entry, count, limit}; the count is -2 when the
# access entry is not a member's (nothing counted) and -1 when the limits are not cached.
_SCRIPT = (
    RATE_COUNT_LUA
    + """
local generation = redis.call('GET', KEYS[1])
if #KEYS == 1 then return {generation} end
local access = redis.call('GET', KEYS[2])
if not access or access == ARGV[4] then return {generation, access, -2, 0} end
local counted = rate_count(KEYS[3], KEYS[4], KEYS[5], KEYS[6], ARGV[1], ARGV[2], ARGV[3])
return {generation, access, counted[1], counted[2]}
"""
)
_script: Any = None
_api_key_script: Any = None


class RedisPrefetchMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.public_hosts = {settings.BASE_DOMAIN, *getattr(settings, "PUBLIC_HOSTS", ())}
        self.authentication = TenantJWTAuthentication()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            host = request.get_host().lower().rsplit(":", 1)[0]
        except DisallowedHost:
            host = ""  # tenant resolution answers it
        if host and host not in self.public_hosts:
            api_key = _api_key_of(request)
            if api_key is not None:
                _prefetch_api_key(request, api_key)
            else:
                _prefetch(request, self._validated_token(request))
        return self.get_response(request)

    def _validated_token(self, request: HttpRequest) -> Any:
        try:
            header = self.authentication.get_header(request)  # type: ignore[arg-type]
            raw = self.authentication.get_raw_token(header) if header is not None else None
            if raw is None or not looks_like_jwt(raw):
                return None
            token = self.authentication.get_validated_token(raw)
        except (AuthenticationFailed, InvalidToken, TokenError):
            return (
                None  # a malformed header or token: authentication refuses it, in the error format
            )
        request.jwt_validated = (raw, token)  # type: ignore[attr-defined]
        return token


def _prefetch(request: HttpRequest, token: Any) -> None:
    global _script
    keys = [generation_cache_key()]
    args: list[Any] = []
    tenant_id = user_id = bucket = None
    if token is not None and isinstance(token.get(TENANT_CLAIM), int):
        tenant_id, user_id = token[TENANT_CLAIM], int(token["sub"])
        bucket = bucket_now()
        keys += [access_cache_key(tenant_id=tenant_id, user_id=user_id)]
        keys += rate_keys(tenant_id, bucket)
        args = [*rate_args(tenant_id, bucket), _not_a_member_encoded()]
    try:
        client = redis_client()
        if _script is None:
            _script = client.register_script(_SCRIPT)
        answer = _script(keys=keys, args=args, client=client)
    except Exception:  # noqa: BLE001 - each place asks Redis (or the database) itself
        logger.debug("prefetch unavailable", exc_info=True)
        return
    decode = cache.client.decode  # type: ignore[attr-defined]  # django-redis's serializer
    request.tenants_generation = None if answer[0] is None else decode(answer[0])  # type: ignore[attr-defined]
    if tenant_id is None or user_id is None or bucket is None:
        return
    entry = None if answer[1] is None else decode(answer[1])
    request.access_prefetched = (tenant_id, user_id, entry)  # type: ignore[attr-defined]
    count, limit = int(answer[2]), int(answer[3])
    if count >= 0 and access_cache_is_member(entry):
        state = rate_state(count=count, limit=limit, bucket=bucket)
        request.rate_counted = RateCounted(tenant_id=tenant_id, state=state)  # type: ignore[attr-defined]


def _api_key_of(request: HttpRequest) -> str | None:
    """A well-formed API key (accounts.apikeys) sent as the bearer value."""
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not value.startswith(KEY_MARKER):
        return None
    return value if key_well_formed(value) else None


def _prefetch_api_key(request: HttpRequest, raw: str) -> None:
    """The same one round trip for an API key: its cached entry names the tenant and user
    whose access and rate the script reads and counts (accounts.apikeys.cache). Counted
    only when the entry exists (only a holder of the key can make it be read) and its user is
    an active member; authentication then checks the entry against this host."""
    global _api_key_script
    bucket = bucket_now()
    keys = [generation_cache_key(), entry_key(key_hash(raw))]
    _member, rate_ttl, usage_ttl = rate_args(0, bucket)
    args = [*prefetch_prefixes(), open_buckets_key(), bucket, rate_ttl, usage_ttl]
    args.append(_not_a_member_encoded())
    try:
        client = redis_client()
        if _api_key_script is None:
            _api_key_script = client.register_script(PREFETCH_LUA)
        answer = _api_key_script(keys=keys, args=args, client=client)
    except Exception:  # noqa: BLE001 - authentication and the throttle ask Redis themselves
        logger.debug("prefetch unavailable", exc_info=True)
        return
    decode = cache.client.decode  # type: ignore[attr-defined]  # django-redis's serializer
    request.tenants_generation = None if answer[0] is None else decode(answer[0])  # type: ignore[attr-defined]
    entry = answer[1] if len(answer) > 1 else None
    request.apikey_prefetched = (raw, entry)  # type: ignore[attr-defined]
    decoded = entry_decode(entry)
    if len(answer) < 5 or decoded is None or isinstance(decoded, bytes):
        return
    access = None if answer[2] is None else decode(answer[2])
    request.access_prefetched = (decoded.tenant_id, decoded.user_id, access)  # type: ignore[attr-defined]
    count, limit = int(answer[3]), int(answer[4])
    if count >= 0 and access_cache_is_member(access):
        state = rate_state(count=count, limit=limit, bucket=bucket)
        request.rate_counted = RateCounted(tenant_id=decoded.tenant_id, state=state)  # type: ignore[attr-defined]


@functools.cache
def _not_a_member_encoded() -> bytes:
    """The cache's "not a member" entry as Redis holds it (django-redis's serializer)."""
    return bytes(cache.client.encode(NOT_A_MEMBER))  # type: ignore[attr-defined]
