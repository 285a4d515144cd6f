"""Throttles for the endpoints people attack: per client IP and per account, counted in Redis
(the default cache) so every process shares the count. Rates: settings.THROTTLE_RATES."""

import logging
import secrets
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django_redis import get_redis_connection
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger("api.throttling")


class IpThrottle(SimpleRateThrottle):
    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AccountThrottle(SimpleRateThrottle):
    """Keyed by the email in the body (login, reset) or else by the authenticated user."""

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        data = request.data if isinstance(request.data, dict) else {}
        email = data.get("email")
        if isinstance(email, str) and email:
            ident = "email:" + email.strip().lower()
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}


def throttles(name: str) -> list[type[SimpleRateThrottle]]:
    """[per-IP, per-account] throttle classes for the `<name>_ip`/`<name>_account` rates."""
    ip = type(f"{name.title()}IpThrottle", (IpThrottle,), {"scope": f"{name}_ip"})
    account = type(
        f"{name.title()}AccountThrottle", (AccountThrottle,), {"scope": f"{name}_account"}
    )
    return [ip, account]


# KEYS: the sliding log (a sorted set of request times); ARGV: now, window, limit, member.
# Returns "" when the request is counted, else the seconds until the oldest one leaves.
_SLIDING_LOG = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('EXPIRE', KEYS[1], math.ceil(window))
  return ''
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""
_sliding_log: Any = None


class AtomicRateThrottle(SimpleRateThrottle):
    """SimpleRateThrottle's sliding window, checked and counted in one step (a Lua script):
    DRF's read-then-write lets a burst of parallel requests all see room under the limit,
    and a burst is exactly how an expensive endpoint is abused. Redis unreachable: allowed
    (fail open), like the other throttles; the service must not depend on its rate limiter."""

    retry_in: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        global _sliding_log
        num_requests, duration = self.parse_rate(self.rate)
        if num_requests is None or duration is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        try:
            redis = get_redis_connection("default")
            if _sliding_log is None:
                _sliding_log = redis.register_script(_SLIDING_LOG)
            answer = _sliding_log(
                keys=[cache.make_key(self.key)],
                args=[self.timer(), duration, num_requests, secrets.token_hex(8)],
                client=redis,
            )
        except Exception:  # noqa: BLE001 - Redis down or hung: let the request through
            logger.warning("throttle %s not counted: Redis unavailable", self.scope)
            return True
        if not answer:
            return True
        self.retry_in = max(float(answer), 0.0)
        return False

    def wait(self) -> float | None:
        return self.retry_in


def email_domain(request: Request) -> str | None:
    """The lower-cased domain of the body's `email`, or None when there is none (the view's
    validation refuses such a body anyway)."""
    data = request.data if isinstance(request.data, dict) else {}
    email = data.get("email")
    if not isinstance(email, str):
        return None
    local, _, domain = email.strip().rpartition("@")
    domain = domain.lower().rstrip(".")
    if not local or not domain or len(domain) > 253:
        return None
    return domain


class SignupIpThrottle(AtomicRateThrottle, IpThrottle):
    scope = "signup_ip"


class SignupDomainThrottle(AtomicRateThrottle):
    """Per domain of the new owner's email, whichever client sends it: bounds how many
    organizations one company domain gets, and how fast anyone can probe that domain's
    addresses for accounts (signup answers 409 email_taken). Free-mail domains
    (settings.THROTTLE_SIGNUP_DOMAIN_EXEMPT) are not counted: one budget shared by all of
    their users would let anyone lock every one of them out of signup."""

    scope = "signup_domain"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        domain = email_domain(request)
        if domain is None or domain in settings.THROTTLE_SIGNUP_DOMAIN_EXEMPT:
            return None
        return self.cache_format % {"scope": self.scope, "ident": domain}
