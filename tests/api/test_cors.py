"""CORS per tenant: an origin a tenant's admins listed may call that tenant's host from a
browser, and no other tenant's; the public host follows CORS_ALLOWED_ORIGINS."""

import pytest

from accounts.models import Role
from tests.support.http import host_of

APP = "https://app.acme.test"
EVIL = "https://evil.test"


@pytest.fixture
def acme_admin(make_tenant, make_member, client_for):
    tenant = make_tenant("acme")
    return tenant, client_for(tenant, make_member(tenant, role=Role.ADMIN))


def _allow(client, origins, capture) -> None:
    with capture(execute=True):  # the host cache is invalidated on commit
        response = client.patch(
            "/api/v1/organization/", {"cors_allowed_origins": origins}, format="json"
        )
    assert response.status_code == 200, response.json()


def _preflight(client, tenant, origin: str):
    return client.options(
        "/api/v1/projects/",
        HTTP_HOST=host_of(tenant),
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key",
    )


def test_admin_sets_the_origins_normalised(acme_admin, django_capture_on_commit_callbacks) -> None:
    _, client = acme_admin
    _allow(
        client,
        ["HTTPS://App.Acme.test/", "http://localhost:3000"],
        django_capture_on_commit_callbacks,
    )
    body = client.get("/api/v1/organization/").json()
    assert body["cors_allowed_origins"] == [APP, "http://localhost:3000"]
    assert body["slug"] == "acme"


@pytest.mark.parametrize(
    "origin", ["*", "null", "ftp://x.test", "https://x.test/path", "x.test", "https://x.test?q"]
)
def test_a_malformed_origin_is_400(acme_admin, origin) -> None:
    _, client = acme_admin
    response = client.patch(
        "/api/v1/organization/", {"cors_allowed_origins": [origin]}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["cors_allowed_origins"]


def test_members_cannot_change_the_origins(acme_admin, make_member, client_for) -> None:
    tenant, _ = acme_admin
    member = client_for(tenant, make_member(tenant))
    assert member.get("/api/v1/organization/").status_code == 200
    response = member.patch(
        "/api/v1/organization/", {"cors_allowed_origins": [EVIL]}, format="json"
    )
    assert response.status_code == 403
    tenant.refresh_from_db()
    assert tenant.cors_allowed_origins == []


def test_preflight_and_request_from_a_listed_origin(
    acme_admin, client_for, django_capture_on_commit_callbacks
) -> None:
    tenant, client = acme_admin
    _allow(client, [APP], django_capture_on_commit_callbacks)
    anonymous = client_for(None)

    preflight = _preflight(anonymous, tenant, APP)
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == APP
    assert "idempotency-key" in preflight["Access-Control-Allow-Headers"]
    assert "PATCH" in preflight["Access-Control-Allow-Methods"]

    actual = client.get("/api/v1/projects/", HTTP_ORIGIN=APP)
    assert actual.status_code == 200
    assert actual["Access-Control-Allow-Origin"] == APP
    assert "etag" in actual["Access-Control-Expose-Headers"]

    refused_preflight = _preflight(anonymous, tenant, EVIL)
    assert not refused_preflight.has_header("Access-Control-Allow-Origin")
    refused = client.get("/api/v1/projects/", HTTP_ORIGIN=EVIL)
    assert not refused.has_header("Access-Control-Allow-Origin")


def test_one_tenants_origin_does_not_open_another_tenants_host(
    acme_admin, make_tenant, make_member, client_for, django_capture_on_commit_callbacks
) -> None:
    _, acme_client = acme_admin
    _allow(acme_client, [APP], django_capture_on_commit_callbacks)
    beta = make_tenant("beta")
    beta_client = client_for(beta, make_member(beta, role=Role.ADMIN))
    _allow(beta_client, ["https://beta.test"], django_capture_on_commit_callbacks)

    assert not _preflight(client_for(None), beta, APP).has_header("Access-Control-Allow-Origin")
    assert not beta_client.get("/api/v1/projects/", HTTP_ORIGIN=APP).has_header(
        "Access-Control-Allow-Origin"
    )
    allowed = _preflight(client_for(None), beta, "https://beta.test")
    assert allowed["Access-Control-Allow-Origin"] == "https://beta.test"


def test_public_host_follows_the_setting_only(acme_admin, client_for, settings) -> None:
    tenant, _ = acme_admin
    settings.CORS_PUBLIC_ALLOWED_ORIGINS = ["https://www.example.test"]
    public = client_for(None)
    allowed = public.get("/api/v1/plans/", HTTP_ORIGIN="https://www.example.test")
    assert allowed["Access-Control-Allow-Origin"] == "https://www.example.test"
    assert not public.get("/api/v1/plans/", HTTP_ORIGIN=APP).has_header(
        "Access-Control-Allow-Origin"
    )
    # The platform's origin is not a tenant's.
    on_tenant = _preflight(public, tenant, "https://www.example.test")
    assert not on_tenant.has_header("Access-Control-Allow-Origin")
