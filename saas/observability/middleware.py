"""Access log, request metrics and the /metrics endpoint, outermost after the request id."""

import hmac
import ipaddress
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.errors import error_response

from .context import current_request, route_of, tenant_slug_of, user_id_of
from .metrics import HTTP_LATENCY, HTTP_REQUESTS, scrape_registry

access_logger = logging.getLogger("saas.access")

# Answered by middleware before URL resolution: labelled by their path, which has no ids.
_FIXED_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
# Probes and scrapes every few seconds would drown the access log; they are still counted.
_NOT_LOGGED = frozenset({"/healthz", "/readyz", "/metrics"})


class AccessLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_request.set(request)
        started = time.perf_counter()
        try:
            if request.path == "/metrics":
                response = metrics_view(request)
            else:
                response = self.get_response(request)
            duration = time.perf_counter() - started
            self._record(request, response, duration)
            return response
        finally:
            current_request.reset(token)

    @staticmethod
    def _record(request: HttpRequest, response: HttpResponse, duration: float) -> None:
        route = request.path if request.path in _FIXED_ROUTES else route_of(request)
        route = route or "unmatched"
        method = request.method or "-"
        if method not in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}:
            method = "other"  # arbitrary methods would make arbitrary label values
        HTTP_REQUESTS.labels(route=route, method=method, status=str(response.status_code)).inc()
        HTTP_LATENCY.labels(route=route, method=method).observe(duration)
        if request.path in _NOT_LOGGED:
            return
        duration_ms = round(duration * 1000, 2)
        access_logger.info(
            "%s %s %s %.2fms",
            method,
            route,
            response.status_code,
            duration_ms,
            extra={
                "route": route,
                "method": method,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "tenant": tenant_slug_of(request),
                "user_id": user_id_of(request),
            },
        )


def _client_allowed(request: HttpRequest) -> bool:
    allowed = settings.METRICS_ALLOWED_IPS
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in allowed)


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """None if the caller may read the metrics, else the 401/403 to send."""
    token: str = settings.METRICS_TOKEN
    if token:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
            return None
        if not header and not settings.METRICS_ALLOWED_IPS:
            response = error_response(
                status=401,
                code="not_authenticated",
                message="A bearer token is needed for /metrics.",
                request=request,
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    if settings.METRICS_ALLOWED_IPS and _client_allowed(request):
        return None
    if not token and not settings.METRICS_ALLOWED_IPS and not settings.METRICS_REQUIRE_AUTH:
        return None  # dev/test without configuration: open
    return error_response(
        status=403,
        code="permission_denied",
        message="Not allowed to read /metrics.",
        request=request,
    )


def metrics_view(request: HttpRequest) -> HttpResponse:
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    if request.method not in {"GET", "HEAD"}:
        return error_response(
            status=405, code="method_not_allowed", message="Use GET.", request=request
        )
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
