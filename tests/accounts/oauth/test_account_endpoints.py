"""Application tokens read the account but never change it: profile, password and logout
need the person's own login; and it sees only its own organization's membership."""

import secrets
from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken

from accounts.models import OAuthApplication
from tests.factories import PASSWORD
from tests.support.oauth import client_credentials_token

pytestmark = pytest.mark.usefixtures("signup_plan_includes_api")

NEW = "a-brand-new-passphrase-9"


def test_oauth_token_reads_the_account_but_cannot_change_it(
    db, client_for, make_tenant, make_member, register_app
):
    tenant = make_tenant("acme")
    admin = make_member(tenant, role="admin")
    app = register_app(tenant, admin, scopes=("read", "write", "admin"))
    token = client_credentials_token(app, scope="read write admin")["access_token"]
    client = client_for(tenant)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    assert client.get("/api/v1/auth/user/").json()["email"] == admin.email
    changes = [
        client.patch("/api/v1/auth/user/", {"full_name": "Mallory"}, format="json"),
        client.post(
            "/api/v1/auth/password/change/",
            {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
            format="json",
        ),
        client.post("/api/v1/auth/logout/", {"refresh": "x"}, format="json"),
    ]

    assert [r.status_code for r in changes] == [403, 403, 403]
    admin.refresh_from_db()
    assert admin.full_name == ""
    assert admin.check_password(PASSWORD)


@pytest.mark.parametrize("grant", ["client-credentials", "authorization-code"])
def test_an_application_sees_only_its_own_organizations_membership(
    db, client_for, make_tenant, make_member, register_app, grant
):
    acme, beta = make_tenant("acme"), make_tenant("beta")
    admin = make_member(acme, role="admin")
    make_member(beta, role="owner", user=admin)  # also in beta: none of acme's app's business
    if grant == "client-credentials":
        app = register_app(acme, admin, scopes=("read",))
        token = client_credentials_token(app, scope="read")["access_token"]
    else:  # a third-party app the person authorized (the /o/authorize/ dance: test_http_flows)
        app = register_app(acme, admin, grant_type=OAuthApplication.GRANT_AUTHORIZATION_CODE)
        token = "at-" + secrets.token_urlsafe(16)
        AccessToken.objects.create(
            user=admin,
            application=app.application,
            token=token,
            expires=timezone.now() + timedelta(minutes=5),
            scope="read",
        )
    as_app = client_for(acme)
    as_app.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    seen_by_app = as_app.get("/api/v1/auth/user/")
    seen_by_person = client_for(acme, admin).get("/api/v1/auth/user/")

    assert seen_by_app.status_code == 200, seen_by_app.json()
    assert [(m["slug"], m["role"]) for m in seen_by_app.json()["memberships"]] == [
        ("acme", "admin")
    ]
    # The person's own login still lists every organization they belong to.
    assert [(m["slug"], m["role"]) for m in seen_by_person.json()["memberships"]] == [
        ("acme", "admin"),
        ("beta", "owner"),
    ]
