"""Throttles for the endpoints people attack: per client IP and per account, counted in Redis
(the default cache) so every process shares the count. Rates: settings.THROTTLE_RATES."""

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


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
