"""An API key's state in Redis, so a warm key-authenticated request costs no query and no
more Redis round trips than a JWT request: accounts.prefetch reads the key's entry, the
creator's member access and counts the plan's rate in its one script (PREFETCH_LUA).

The entry is a plain string (not pickled) so the script can read the tenant and user out of
it: `k|tenant|user|key id|ends (epoch seconds or -)|scopes|prefix`. It lives at most
ENTRY_SECONDS and never past the key's end. Revoking overwrites it with REFUSED, and a
rotation rewrites it, both after commit; requests fill a missing entry with SET NX, so a
request that read the row before the change cannot put the old state back over the new.
Redis unreachable: every read misses and authentication reads the row.
"""

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from billing.throttling import RATE_COUNT_LUA, redis_client

from .models import ApiKey

logger = logging.getLogger("accounts.apikeys")

ENTRY_SECONDS = 60
REFUSED = b"x"
REFUSED_SECONDS = 300  # longer than any request takes between reading a row and caching it


@dataclass(frozen=True)
class KeyEntry:
    tenant_id: int
    user_id: int
    key_id: int
    ends: float | None  # epoch seconds
    scopes: tuple[str, ...]
    prefix: str

    def usable(self, now: float) -> bool:
        return self.ends is None or self.ends > now


def entry_key(hashed: str) -> str:
    return str(cache.make_key(f"apikey:{hashed}"))


def _encode(key: ApiKey) -> str:
    ends = key.ends_at
    stamp = "-" if ends is None else f"{ends.timestamp():.3f}"
    scopes = ",".join(key.scope_names)
    return f"k|{key.tenant_id}|{key.created_by_id}|{key.pk}|{stamp}|{scopes}|{key.prefix}"


def entry_from_key(key: ApiKey) -> KeyEntry:
    decoded = entry_decode(_encode(key).encode())
    assert isinstance(decoded, KeyEntry)  # noqa: S101 - what _encode writes decodes
    return decoded


def entry_decode(value: bytes | None) -> KeyEntry | bytes | None:
    """A KeyEntry; REFUSED (revoked); or None (no entry, or one this code cannot read)."""
    if value is None:
        return None
    if value == REFUSED:
        return REFUSED
    try:
        kind, tenant, user, key_id, ends, scopes, prefix = value.decode().split("|")
        if kind != "k":
            return None
        return KeyEntry(
            int(tenant),
            int(user),
            int(key_id),
            None if ends == "-" else float(ends),
            tuple(name for name in scopes.split(",") if name),
            prefix,
        )
    except (ValueError, UnicodeDecodeError):
        return None


def _ttl(key: ApiKey) -> int:
    ends = key.ends_at
    if ends is None:
        return ENTRY_SECONDS
    return min(ENTRY_SECONDS, math.floor(ends.timestamp() - time.time()))


def entry_read(hashed: str) -> KeyEntry | bytes | None:
    try:
        return entry_decode(redis_client().get(entry_key(hashed)))
    except Exception:  # noqa: BLE001 - Redis down: the row answers
        logger.debug("api key cache unavailable", exc_info=True)
        return None


def entry_fill(key: ApiKey) -> None:
    """After a request read a usable row: only where there is no entry (never over a
    revocation or a rotation written meanwhile)."""
    ttl = _ttl(key)
    if ttl <= 0:
        return
    try:
        redis_client().set(entry_key(key.key_hash), _encode(key), ex=ttl, nx=True)
    except Exception:  # noqa: BLE001 - uncached: the next request reads the row
        logger.debug("api key cache unavailable", exc_info=True)


def entry_replace(key: ApiKey) -> None:
    """After a change to the row commits (a rotation): the entry says what the row says."""
    client = redis_client()
    try:
        ttl = _ttl(key)
        if key.revoked_at is not None or ttl <= 0:
            client.set(entry_key(key.key_hash), REFUSED, ex=REFUSED_SECONDS)
        else:
            client.set(entry_key(key.key_hash), _encode(key), ex=ttl)
    except Exception:  # noqa: BLE001 - logged loudly: a stale entry lasts ENTRY_SECONDS
        logger.warning("could not update a cached API key", exc_info=True)


# Used inside accounts.prefetch's script. KEYS: generation, the key's entry. ARGV: the
# access-entry, limits, rate and usage key prefixes, the open-buckets key, the bucket, the
# rate and usage ttls, the encoded "not a member" entry. Returns {generation} (no entry),
# {generation, entry} (an entry naming nobody: REFUSED), or {generation, entry, access,
# count, limit} with count -2 when access is not a member's (nothing counted) and -1 when the
# limits are not cached.
PREFETCH_LUA = (
    RATE_COUNT_LUA
    + """
local generation = redis.call('GET', KEYS[1])
local entry = redis.call('GET', KEYS[2])
if not entry then return {generation} end
local t, u = string.match(entry, '^k|(%d+)|(%d+)|')
if not t then return {generation, entry} end
local access = redis.call('GET', ARGV[1] .. t .. ':' .. u)
if not access or access == ARGV[9] then return {generation, entry, access, -2, 0} end
local window = t .. ':' .. ARGV[6]
local counted = rate_count(ARGV[2] .. t, ARGV[3] .. window, ARGV[4] .. window, ARGV[5], window,
  ARGV[7], ARGV[8])
return {generation, entry, access, counted[1], counted[2]}
"""
)


def prefetch_prefixes() -> list[Any]:
    """What PREFETCH_LUA needs to name a tenant's and user's keys (as cache.make_key makes
    them: the prefix, then the ids)."""
    return [
        cache.make_key("access:"),
        cache.make_key("billing:limits:"),
        cache.make_key("billing:rate:"),
        cache.make_key("billing:usage:"),
    ]
