"""The request being served, for log records made while serving it.

The middleware puts the request in a context variable; log records read the request id,
tenant, user and route from it when they are made, so values set later in the request (the
tenant by the host middleware, the user by DRF's authentication) appear too.
"""

import re
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject, empty

_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)


def route_of(request: HttpRequest) -> str | None:
    """The matched URL pattern (never the raw path, which carries ids and tokens)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None
    if not match.route:
        return None
    # Regex routes (DRF routers) read as their path() equivalent: (?P<pk>[^/.]+) -> <pk>.
    route = _NAMED_GROUP.sub(r"<\1>", match.route.lstrip("^").rstrip("$"))
    return "/" + route


def user_id_of(request: HttpRequest) -> Any:
    """The authenticated user's id, without triggering authentication (no query)."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        wrapped = user._wrapped  # noqa: SLF001 - only read once evaluated
        if wrapped is empty:
            return None
        user = wrapped
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.pk


def tenant_slug_of(request: HttpRequest) -> str | None:
    tenant = getattr(request, "tenant", None)
    return getattr(tenant, "slug", None)


def request_fields(request: HttpRequest | None = None) -> dict[str, Any]:
    """The context of `request`, or of the request being served (None outside one)."""
    request = request if request is not None else current_request.get()
    if request is None:
        return {}
    return {
        "request_id": getattr(request, "request_id", None),
        "tenant": tenant_slug_of(request),
        "user_id": user_id_of(request),
    }
