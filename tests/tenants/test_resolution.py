"""Host -> tenant: JSON 404 for unknown hosts, no Domain query once cached, invalidated in
every process when a tenant changes."""

import subprocess
import sys

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import TenantStatus
from tests.support.processes import REPO, subprocess_env


def test_unknown_host_gets_json_404_not_the_public_schema(db, client_for, make_tenant) -> None:
    make_tenant("acme")
    client = client_for(None)
    client.defaults["HTTP_HOST"] = "nobody.localhost"

    response = client.get("/api/v1/projects/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "tenant_not_found"
    # The public host's routes are not reachable through an unknown host either.
    assert client.post("/api/v1/signup/", {}, format="json").status_code == 404


def test_second_request_on_a_host_runs_no_domain_query(db, client_for, make_tenant) -> None:
    tenant = make_tenant("acme")
    client = client_for(tenant)

    with CaptureQueriesContext(connection) as first:
        client.get("/api/v1/projects/")
    with CaptureQueriesContext(connection) as second:
        client.get("/api/v1/projects/")

    assert any("tenants_domain" in q["sql"] for q in first.captured_queries)
    assert not any("tenants_domain" in q["sql"] for q in second.captured_queries)


def test_status_change_in_another_process_reaches_this_process(
    committed, client_for, make_tenant, make_member
) -> None:
    tenant = make_tenant("acme")
    user = make_member(tenant)
    client = client_for(tenant, user)
    assert client.get("/api/v1/projects/").status_code == 200  # now cached here

    script = (
        "import django; django.setup();"
        "from tenants.models import Tenant; from tenants.services import tenant_set_status;"
        f"tenant_set_status(tenant=Tenant.objects.get(pk={tenant.pk}), status='suspended')"
    )
    subprocess.run([sys.executable, "-c", script], cwd=REPO, env=subprocess_env(), check=True)

    response = client.get("/api/v1/projects/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "tenant_suspended"


def test_new_domain_is_served_after_an_earlier_miss(committed, client_for, make_tenant) -> None:
    client = client_for(None)
    client.defaults["HTTP_HOST"] = "acme.localhost"
    assert client.get("/api/v1/projects/").status_code == 404  # the miss is cached too

    make_tenant("acme")  # commits; on-commit invalidation bumps the generation

    assert client.get("/api/v1/projects/").status_code == 401  # found: now asks for login


def test_resolution_falls_back_to_the_database_without_redis(
    db, client_for, make_tenant, make_member, settings
) -> None:
    tenant = make_tenant("acme")
    user = make_member(tenant)
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    from django.core.cache import caches

    caches._settings = None  # type: ignore[attr-defined]
    try:
        response = client_for(tenant, user).get("/api/v1/projects/")
    finally:
        caches._settings = None  # type: ignore[attr-defined]
    assert response.status_code == 200


def test_lifecycle_status_controls_reads_and_writes(
    db, client_for, make_tenant, make_member
) -> None:
    from tenants.resolution import tenant_cache_invalidate
    from tenants.services import tenant_set_status

    tenant = make_tenant("acme")
    client = client_for(tenant, make_member(tenant))
    expectations = {
        TenantStatus.PAST_DUE: (200, 201),
        TenantStatus.READ_ONLY: (200, 403),
        TenantStatus.SUSPENDED: (403, 403),
        TenantStatus.ARCHIVED: (404, 404),
    }
    for status, (read, write) in expectations.items():
        tenant_set_status(tenant=tenant, status=status)
        tenant_cache_invalidate()
        assert client.get("/api/v1/projects/").status_code == read, status
        assert client.post("/api/v1/projects/", {"name": "x"}, format="json").status_code == write
