"""Routes each request by host: the public host gets the public schema and URLs, a tenant
host its own schema and the tenant URLs, any other host a JSON 404."""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from django.urls import set_urlconf

from api.errors import error_response

from .db import schema_activate, schema_activate_public
from .models import READABLE_STATUSES, WRITABLE_STATUSES, TenantStatus
from .resolution import GENERATION_UNREAD, tenant_for_host

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A read-only organization can still log in and out, and pay its way back to writing.
_WRITABLE_WHEN_READ_ONLY = ("/api/v1/auth/", "/api/v1/billing/")


def _hostname(request: HttpRequest) -> str:
    host = request.get_host().lower()
    return host.rsplit(":", 1)[0] if not host.endswith("]") else host


def _custom_host(request: HttpRequest) -> str | None:
    """A host outside ALLOWED_HOSTS that routes all the same: an organization's verified
    custom domain (tenants.domains), known only to the host map, not to the settings. Such a
    request is let through as if its host were allowed (the rest of the stack calls
    get_host() too); any other host stays refused."""
    raw = request._get_raw_host()  # type: ignore[attr-defined]  # noqa: SLF001 - Django's own
    domain, port = split_domain_port(raw)
    if not domain or domain.startswith("["):
        return None
    generation = getattr(request, "tenants_generation", GENERATION_UNREAD)
    if tenant_for_host(domain, generation=generation) is None:
        return None
    host = f"{domain}:{port}" if port else domain
    request.get_host = lambda: host  # type: ignore[method-assign]
    return domain


class TenantResolutionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.public_hosts = {settings.BASE_DOMAIN, *getattr(settings, "PUBLIC_HOSTS", ())}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            host = _hostname(request)
        except DisallowedHost:
            custom = _custom_host(request)
            if custom is None:
                return error_response(
                    status=400, code="invalid_host", message="Host not allowed.", request=request
                )
            host = custom
        if host in self.public_hosts:
            return self._serve_public(request)
        # The generation accounts.prefetch read in the request's one Redis round trip, if it did.
        generation = getattr(request, "tenants_generation", GENERATION_UNREAD)
        tenant = tenant_for_host(host, generation=generation)
        if tenant is None or tenant.status in (TenantStatus.ARCHIVED, TenantStatus.PROVISIONING):
            return error_response(
                status=404,
                code="tenant_not_found",
                message="No organization is served at this host.",
                request=request,
            )
        refusal = self._refuse_for_status(request, tenant.status)
        if refusal is not None:
            return refusal
        schema_activate(tenant)
        request.tenant = tenant  # type: ignore[attr-defined]
        request.urlconf = settings.TENANT_URLCONF
        set_urlconf(settings.TENANT_URLCONF)
        return self.get_response(request)

    def _serve_public(self, request: HttpRequest) -> HttpResponse:
        schema_activate_public()
        request.tenant = None  # type: ignore[attr-defined]
        request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
        set_urlconf(settings.PUBLIC_SCHEMA_URLCONF)
        return self.get_response(request)

    @staticmethod
    def _refuse_for_status(request: HttpRequest, status: str) -> HttpResponse | None:
        if status not in READABLE_STATUSES:
            return error_response(
                status=403,
                code="tenant_suspended",
                message="This organization is suspended.",
                request=request,
            )
        if (
            request.method not in _SAFE_METHODS
            and status not in WRITABLE_STATUSES
            and not request.path.startswith(_WRITABLE_WHEN_READ_ONLY)
        ):
            return error_response(
                status=403,
                code="tenant_read_only",
                message="This organization is read-only.",
                request=request,
            )
        return None
