"""The same project with tenancy switched off, for bench/tasks_throughput.py's baseline.

Everything the tenant-routed stack runs stays (authentication, capability check, plan
throttle, serialisation, every other middleware); what goes is what tenancy costs per request:
django-tenants' database backend (its per-request `SET search_path`), the host -> tenant
lookup and the URLconf switch. (DATABASE_ROUTERS stays: django-tenants' app checks insist,
and routers only matter to migrations.) The connection's search_path is fixed once to the bench
tenant's schema (plus public, where users and memberships live), TENANT_URLCONF is the root
URLconf, and request.tenant is a tenant loaded once per process, as a single-tenant deployment
would hold its one organization.
"""

import os
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from config.settings import *  # noqa: F403
from config.settings import DATABASES, MIDDLEWARE

SCHEMA = os.environ.get("BENCH_SINGLE_SCHEMA", "public")

DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
DATABASES["default"].setdefault("OPTIONS", {})["options"] = f"-c search_path={SCHEMA},public"
ROOT_URLCONF = "config.urls_tenants"
MIDDLEWARE = [
    "bench.settings_single_schema.OneTenantMiddleware"
    if name == "tenants.middleware.TenantResolutionMiddleware"
    else name
    for name in MIDDLEWARE
]


class OneTenantMiddleware:
    """request.tenant = the one organization, read once per process."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.tenant = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.tenant is None:
            from tenants.models import Tenant

            self.tenant = Tenant.objects.get(schema_name=SCHEMA)
        request.tenant = self.tenant  # type: ignore[attr-defined]
        return self.get_response(request)
