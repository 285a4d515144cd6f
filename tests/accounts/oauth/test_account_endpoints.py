"""Application tokens read the account but never change it: profile, password and logout
need the person's own login."""

from tests.accounts.oauth.conftest import client_credentials_token
from tests.factories import PASSWORD

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
