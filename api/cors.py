"""Which browser origins may call which host (django-cors-headers decides through the
check_request_enabled signal, after tenants.middleware has set request.tenant):

- a tenant host: the origins its admins listed in Tenant.cors_allowed_origins
  (PATCH /api/v1/organization/), and the public host on the same scheme and port, whose
  Swagger UI (/api/docs/) calls the tenant endpoints; no others. The public origin is ours,
  not an organization's, and reads nothing without a token: the API takes bearer tokens,
  never cookies, and CORS_ALLOW_CREDENTIALS stays off;
- the public host: settings.CORS_PUBLIC_ALLOWED_ORIGINS (env CORS_ALLOWED_ORIGINS).

django-cors-headers' own CORS_ALLOWED_ORIGINS stays empty so that one tenant's origin never
opens another tenant's host. Tenants come from the host cache, which is invalidated when a
tenant is saved, so a change applies on the next request in every process.
"""

from typing import Any
from urllib.parse import urlsplit

from corsheaders.signals import check_request_enabled
from django.conf import settings
from django.http import HttpRequest

from .origins import public_origin

MAX_ORIGINS = 50


def origin_allowed(request: HttpRequest) -> bool:
    origin = (request.headers.get("Origin") or "").lower()
    if not origin:
        return False
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return origin in settings.CORS_PUBLIC_ALLOWED_ORIGINS
    return origin == public_origin(request) or origin in (tenant.cors_allowed_origins or ())


def _on_check_request(sender: Any, request: HttpRequest, **kwargs: Any) -> bool:
    return origin_allowed(request)


def connect() -> None:
    check_request_enabled.connect(_on_check_request, dispatch_uid="api.cors")


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
# What an organization may list (the schema's pattern): http(s), a DNS name or IPv4 address,
# an optional port, nothing after but one "/". IPv6 literals are not taken.
ORIGIN_PATTERN = rf"^[Hh][Tt][Tt][Pp][Ss]?://{_LABEL}(?:\.{_LABEL})*(?::{_PORT})?/?$"


def origin_normalise(value: str) -> str:
    """`scheme://host[:port]`, lowercased; anything else (paths, queries, `*`, `null`)
    raises ValueError."""
    parts = urlsplit(value.strip().lower())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("An origin is scheme://host[:port] with http or https.")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError("An origin has no path, query, fragment or credentials.")
    port = parts.port  # raises ValueError when out of range
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")
