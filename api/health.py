"""/healthz (the process answers) and /readyz (database and Redis; 200 "degraded" when only
Redis is down, 503 without the database), on any host:
load balancers probe by IP, so these must not depend on tenant resolution."""

from collections.abc import Callable

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse


def _database_ok() -> bool:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        connection.close_if_unusable_or_obsolete()
        return False


def _redis_ok() -> bool:
    try:
        client = cache.client.get_client(write=True)  # type: ignore[attr-defined]
        return bool(client.ping())
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False


def readiness() -> tuple[int, dict]:
    checks = {"database": _database_ok(), "redis": _redis_ok()}
    # Without Redis the API still serves (caches fall back to the database, throttles fail
    # open, webhooks are stored and swept later): "degraded" but ready, so load balancers
    # keep routing. Without the database nothing works: 503.
    if not checks["database"]:
        status, code = "unavailable", 503
    else:
        status, code = ("ok" if checks["redis"] else "degraded"), 200
    body = {
        "status": status,
        "checks": {name: "ok" if ok else "unreachable" for name, ok in checks.items()},
    }
    return code, body


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/readyz":
            status, body = readiness()
            return JsonResponse(body, status=status)
        return self.get_response(request)
