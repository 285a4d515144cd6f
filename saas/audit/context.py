"""Who is acting, per request: the middleware puts the request in a context variable and the
actor is read from it when an entry is written, after DRF has authenticated the caller (DRF
copies its user and auth onto the Django request). Outside a request (Celery tasks such as
Stripe webhook processing, management commands) the actor is the system."""

import ipaddress
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from django.http import HttpRequest, HttpResponse
from rest_framework.throttling import BaseThrottle

from accounts.grants import TenantGrant

from .models import ActorKind

_current_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)


@dataclass(frozen=True)
class Actor:
    kind: str
    user_id: int | None = None
    email: str = ""
    app: str = ""
    ip: str | None = None
    request_id: str = ""


SYSTEM = Actor(kind=ActorKind.SYSTEM)


class AuditContextMiddleware:
    """Makes the current request known to the services writing audit entries, for this request
    only."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


def client_ip(request: HttpRequest) -> str | None:
    """The client address as DRF's throttles see it: X-Forwarded-For only through the
    NUM_PROXIES proxies we run, else the socket address."""
    ident = BaseThrottle().get_ident(request)  # type: ignore[arg-type]
    try:
        return str(ipaddress.ip_address(ident.strip()))
    except ValueError:
        return None


def current_actor() -> Actor:
    request = _current_request.get()
    if request is None:
        return SYSTEM
    where: dict[str, Any] = {
        "ip": client_ip(request),
        "request_id": getattr(request, "request_id", ""),
    }
    acting = getattr(request, "audit_actor", None)
    if isinstance(acting, Actor):
        # Set by an authentication that acts for no person (a SCIM token: accounts.scim).
        return replace(acting, **where)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return Actor(kind=ActorKind.USER, **where)
    grant = getattr(request, "auth", None)
    if isinstance(grant, TenantGrant) and grant.kind == "oauth2":
        return Actor(
            kind=ActorKind.OAUTH2_APP,
            user_id=user.pk,
            email=user.email,
            # Known since authentication: never a lookup of an application (or token) that
            # the request itself may be deleting.
            app=grant.client_id,
            **where,
        )
    if isinstance(grant, TenantGrant) and grant.kind == "api_key":
        # The member's own key (accounts.apikeys): the person, and which key acted.
        app = f"api_key:{grant.client_id}"
        return Actor(kind=ActorKind.USER, user_id=user.pk, email=user.email, app=app, **where)
    return Actor(kind=ActorKind.USER, user_id=user.pk, email=user.email, **where)
