"""The plan's API rate, per tenant, and API usage counting: both in Redis, one round trip per
request.

A Lua script reads the tenant's cached limits, counts the request in a one-minute window and
adds every request it lets through to that minute's usage bucket (an INCR plus a set of open
buckets that billing.services.usage moves into UsageRecord rows), whatever the plan: the usage
report shows every organization its requests. A tenant on a metered price is counted in the
metered bucket, any other in the licensed one (the same key with LICENSED_SUFFIX, in its own
open set): which one is decided when the request is served, so a price change between the
request and the collection never bills a licensed request. Only metered rows reach Stripe.
No database write per request; a database read only when the limits are not cached. If Redis
is unreachable the request is allowed (fail open): the rate limit protects the service, it must
not take it down.
"""

import logging
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.http import HttpResponseBase
from django_redis import get_redis_connection
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from billing.models import BillingAccount

logger = logging.getLogger("billing.throttling")

WINDOW_SECONDS = 60
LIMITS_TTL_SECONDS = 300
USAGE_TTL_SECONDS = 7 * 86400  # kept this long if the collector is down
OPEN_BUCKETS_KEY = "billing:usage:open"
# Appended to a usage counter and to the open-buckets set for requests on a licensed (not
# metered) price. Its own set, so a collector of an older release never reads its members.
LICENSED_SUFFIX = ":licensed"
METERED_STATUSES = ("active", "trialing", "past_due")

# A Lua function, so that accounts.prefetch's one-round-trip script counts requests with the same
# code. Keys: limits, rate counter, usage counter, open-buckets set (rate_keys: the metered
# ones; for a licensed price the script appends LICENSED_SUFFIX to the last two); args:
# open-bucket member, rate ttl, usage ttl (rate_args). Returns {count, limit}; {-1, 0} when
# the limits are not cached (the caller loads them), having counted nothing. A request over
# the rate (refused, 429) is not usage; rpm 0 is "not limited", so every request is.
RATE_COUNT_LUA = """
local function rate_count(limits_key, rate_key, usage_key, open_key, member, rate_ttl, usage_ttl)
  local limits = redis.call('HMGET', limits_key, 'rpm', 'metered')
  if not limits[1] then return {-1, 0} end
  local rpm = tonumber(limits[1])
  local count = redis.call('INCR', rate_key)
  if count == 1 then redis.call('EXPIRE', rate_key, rate_ttl) end
  if rpm == 0 or count <= rpm then
    if limits[2] ~= '1' then
      usage_key = usage_key .. '@LICENSED@'
      open_key = open_key .. '@LICENSED@'
    end
    redis.call('INCR', usage_key)
    redis.call('EXPIRE', usage_key, usage_ttl)
    redis.call('SADD', open_key, member)
  end
  return {count, rpm}
end
""".replace("@LICENSED@", LICENSED_SUFFIX)
_SCRIPT = (
    RATE_COUNT_LUA
    + "return rate_count(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3])"
)
_script: Any = None


def redis_client() -> Any:
    return get_redis_connection("default")


def _limits_key(tenant_id: int) -> str:
    return cache.make_key(f"billing:limits:{tenant_id}")


def _rate_key(tenant_id: int, bucket: int) -> str:
    return cache.make_key(f"billing:rate:{tenant_id}:{bucket}")


def usage_key(tenant_id: int, bucket: int, *, metered: bool = True) -> str:
    """The minute's usage counter: metered requests, or with `metered=False` the others."""
    key = cache.make_key(f"billing:usage:{tenant_id}:{bucket}")
    return key if metered else key + LICENSED_SUFFIX


def open_buckets_key(*, metered: bool = True) -> str:
    """The set of "tenant_id:bucket" counters not collected yet, metered or licensed."""
    key = cache.make_key(OPEN_BUCKETS_KEY)
    return key if metered else key + LICENSED_SUFFIX


def bucket_of(moment: float) -> int:
    return int(moment // WINDOW_SECONDS)


def bucket_now() -> int:
    """The current window (this module's clock, which tests may freeze)."""
    return bucket_of(time.time())


# ---- limits cache -----------------------------------------------------------------------


def _limits_load(tenant_id: int) -> dict[str, int]:
    account = (
        BillingAccount.objects.select_related("plan", "price").filter(tenant_id=tenant_id).first()
    )
    if account is None:
        return {"rpm": 0, "metered": 0}  # rpm 0 means "no plan": not limited
    metered = bool(
        account.price
        and account.price.metered
        and account.stripe_customer_id
        and account.status in METERED_STATUSES
    )
    return {"rpm": account.plan.api_requests_per_minute, "metered": int(metered)}


def limits_forget(*, tenant_ids: list[int]) -> None:
    """After a billing account or plan change: the next request reloads the limits."""
    if not tenant_ids:
        return
    try:
        redis_client().delete(*[_limits_key(tenant_id) for tenant_id in tenant_ids])
    except Exception:  # noqa: BLE001 - Redis down: the entries expire on their own
        logger.warning("could not forget cached plan limits", exc_info=True)


# ---- counting ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RateState:
    limit: int
    remaining: int
    reset: int  # epoch seconds when the window ends
    allowed: bool


@dataclass(frozen=True)
class RateCounted:
    """A request already counted for `tenant_id` (accounts.prefetch), and what the count said."""

    tenant_id: int
    state: RateState | None


def rate_keys(tenant_id: int, bucket: int) -> list[str]:
    return [
        _limits_key(tenant_id),
        _rate_key(tenant_id, bucket),
        usage_key(tenant_id, bucket),
        open_buckets_key(),
    ]


def rate_args(tenant_id: int, bucket: int) -> list[Any]:
    return [f"{tenant_id}:{bucket}", WINDOW_SECONDS * 2, USAGE_TTL_SECONDS]


def rate_state(*, count: int, limit: int, bucket: int) -> RateState | None:
    """What the script's {count, limit} means for the caller; None: no limit."""
    if not limit:
        return None
    reset = (bucket + 1) * WINDOW_SECONDS
    return RateState(limit, max(limit - count, 0), reset, allowed=count <= limit)


def rate_count(*, tenant_id: int, now: float) -> RateState | None:
    """Count one request of `tenant_id`; None when Redis is unreachable or there is no
    limit (callers allow the request)."""
    global _script
    bucket = bucket_of(now)
    keys = rate_keys(tenant_id, bucket)
    args = rate_args(tenant_id, bucket)
    try:
        client = redis_client()
        if _script is None:
            _script = client.register_script(_SCRIPT)
        count, limit = _script(keys=keys, args=args, client=client)
        if count == -1:
            limits = _limits_load(tenant_id)
            client.hset(keys[0], mapping=limits)
            client.expire(keys[0], LIMITS_TTL_SECONDS)
            count, limit = _script(keys=keys, args=args, client=client)
    except Exception:  # noqa: BLE001 - fail open, never a 500 because Redis is away
        logger.warning("rate limit unavailable; allowing the request", exc_info=True)
        return None
    return rate_state(count=count, limit=limit, bucket=bucket)


def api_requests_this_minute(*, tenant_id: int) -> int:
    try:
        value = redis_client().get(_rate_key(tenant_id, bucket_of(time.time())))
    except Exception:  # noqa: BLE001 - unknown without Redis
        return 0
    return int(value or 0)


class PlanRateThrottle(BaseThrottle):
    """The tenant's plan's api_requests_per_minute, shared by all its users and clients."""

    def __init__(self) -> None:
        self._wait = 0.0

    def allow_request(self, request: Request, view: Any) -> bool:
        tenant = getattr(request, "tenant", None)
        if tenant is None:
            return True
        now = time.time()
        counted = getattr(request, "rate_counted", None)  # accounts.prefetch counted it already
        if counted is not None and counted.tenant_id == tenant.pk:
            state = counted.state
        else:
            state = rate_count(tenant_id=tenant.pk, now=now)
        if state is None:
            return True
        request._plan_rate = state  # type: ignore[attr-defined]  # for the response headers
        self._wait = max(state.reset - now, 0)
        return state.allowed

    def wait(self) -> float:
        return self._wait


def rate_limit_headers(request: Request, response: HttpResponseBase) -> None:
    """X-RateLimit-* on every tenant API response that was counted."""
    state: RateState | None = getattr(request, "_plan_rate", None)
    if state is None:
        return
    response["X-RateLimit-Limit"] = str(state.limit)
    response["X-RateLimit-Remaining"] = str(state.remaining)
    response["X-RateLimit-Reset"] = str(state.reset)
