"""Tenant admins manage their organization's OAuth2 clients at /api/v1/oauth/applications/."""

import pytest
from django.contrib.auth.hashers import check_password

from accounts.models import OAuthApplication, Role
from tests.support.oauth import REDIRECT_URI

pytestmark = pytest.mark.usefixtures("signup_plan_includes_api")

URL = "/api/v1/oauth/applications/"
CODE_APP = {
    "name": "Calendar sync",
    "grant_type": "authorization-code",
    "redirect_uris": [REDIRECT_URI],
    "scopes": ["read", "write"],
}


def test_admin_registers_lists_updates_and_deletes_an_application(
    db, client_for, make_tenant, make_member
) -> None:
    acme = make_tenant("acme")
    admin = make_member(acme, Role.ADMIN)
    client = client_for(acme, admin)

    created = client.post(URL, CODE_APP, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    secret = body["client_secret"]
    assert body["grant_type"] == "authorization-code"
    assert body["client_type"] == "confidential"
    assert body["scopes"] == ["read", "write"]
    assert body["redirect_uris"] == [REDIRECT_URI]
    assert body["created_by"] == admin.pk
    stored = OAuthApplication.objects.get(pk=body["id"])
    assert stored.tenant_id == acme.pk
    assert stored.client_secret != secret
    assert check_password(secret, stored.client_secret)

    listed = client.get(URL).json()
    assert [app["client_id"] for app in listed["results"]] == [body["client_id"]]
    assert "client_secret" not in listed["results"][0]
    detail = client.get(f"{URL}{body['id']}/").json()
    assert detail["name"] == "Calendar sync"
    assert "client_secret" not in detail

    updated = client.patch(
        f"{URL}{body['id']}/", {"name": "Sync", "scopes": ["read"]}, format="json"
    )
    assert updated.status_code == 200, updated.content
    assert updated.json()["name"] == "Sync"
    assert updated.json()["scopes"] == ["read"]

    assert client.delete(f"{URL}{body['id']}/").status_code == 204
    assert client.get(f"{URL}{body['id']}/").status_code == 404
    assert not OAuthApplication.objects.filter(pk=body["id"]).exists()


def test_machine_client_needs_no_redirect_uri(db, client_for, make_tenant, make_member) -> None:
    acme = make_tenant("acme")
    client = client_for(acme, make_member(acme, Role.OWNER))
    created = client.post(
        URL, {"name": "Nightly export", "grant_type": "client-credentials"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["scopes"] == ["read"]
    assert created.json()["redirect_uris"] == []


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER, Role.BILLING])
def test_other_roles_may_not_manage_applications(
    db, client_for, make_tenant, make_member, register_app, role
) -> None:
    acme = make_tenant("acme")
    app = register_app(acme, make_member(acme, Role.OWNER))
    client = client_for(acme, make_member(acme, role))
    assert client.get(URL).status_code == 403
    refused = client.post(URL, CODE_APP, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert client.delete(f"{URL}{app.application.pk}/").status_code == 403


def test_another_tenants_application_is_not_found(
    db, client_for, make_tenant, make_member, register_app
) -> None:
    acme, beta = make_tenant("acme"), make_tenant("beta")
    beta_app = register_app(beta, make_member(beta, Role.OWNER))
    client = client_for(acme, make_member(acme, Role.ADMIN))
    path = f"{URL}{beta_app.application.pk}/"
    for response in (
        client.get(path),
        client.patch(path, {"name": "mine now"}, format="json"),
        client.delete(path),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "oauth_application_not_found"
    assert client.get(URL).json()["results"] == []
    assert OAuthApplication.objects.filter(pk=beta_app.application.pk, name="Integration").exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"redirect_uris": ["javascript:alert(1)"]}, "redirect_uris"),
        ({"redirect_uris": ["not a uri"]}, "redirect_uris"),
        ({"redirect_uris": ["https://example.test/cb#fragment"]}, "redirect_uris"),
        ({"redirect_uris": []}, "redirect_uris"),
        ({"grant_type": "password"}, "grant_type"),
        ({"grant_type": "implicit"}, "grant_type"),
        ({"scopes": ["read", "openid"]}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"client_type": "public", "grant_type": "client-credentials"}, "client_type"),
        ({"secret": "mine"}, "secret"),
        ({"name": 7}, "name"),
    ],
)
def test_invalid_registrations_are_refused_per_field(
    db, client_for, make_tenant, make_member, change, field
) -> None:
    acme = make_tenant("acme")
    client = client_for(acme, make_member(acme, Role.ADMIN))
    response = client.post(URL, {**CODE_APP, **change}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"], error
    assert error["request_id"]
    assert not OAuthApplication.objects.exists()


def test_update_validates_redirect_uris_and_refuses_unknown_fields(
    db, client_for, make_tenant, make_member, register_app
) -> None:
    acme = make_tenant("acme")
    owner = make_member(acme, Role.OWNER)
    app = register_app(acme, owner, grant_type=OAuthApplication.GRANT_AUTHORIZATION_CODE)
    client = client_for(acme, owner)
    path = f"{URL}{app.application.pk}/"
    bad_uri = client.patch(path, {"redirect_uris": ["ftp://x.test/cb"]}, format="json")
    assert bad_uri.status_code == 400
    assert "redirect_uris" in bad_uri.json()["error"]["fields"]
    fixed_type = client.patch(path, {"grant_type": "client-credentials"}, format="json")
    assert fixed_type.status_code == 400
    assert fixed_type.json()["error"]["fields"] == {"grant_type": ["Unknown field."]}
    app.application.refresh_from_db()
    assert app.application.redirect_uris == REDIRECT_URI


def test_oauth_token_with_admin_scope_manages_applications(
    db, client_for, make_tenant, make_member, register_app
) -> None:
    from tests.support.oauth import client_credentials_token

    acme = make_tenant("acme")
    app = register_app(acme, make_member(acme, Role.OWNER), scopes=("read", "admin"))
    client = client_for(acme)
    admin_token = client_credentials_token(app, "admin")["access_token"]
    read_token = client_credentials_token(app, "read")["access_token"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {admin_token}")
    assert client.get(URL).status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {read_token}")
    assert client.get(URL).status_code == 403
