"""Every answer that carries a credential (tokens, a client secret) says it must not be
stored by a cache, as /o/token/ does (RFC 6749 section 5.1): `Cache-Control: no-store` and
`Pragma: no-cache` for HTTP/1.0 caches. OAuth client secrets:
tests/accounts/oauth/test_no_store.py; billing's bearer links: tests/billing."""

from tests.factories import PASSWORD, make_invitation

LOGIN = "/api/v1/auth/login/"


def assert_no_store(response) -> None:
    assert response["Cache-Control"] == "no-store", response.headers
    assert response["Pragma"] == "no-cache", response.headers


def _login(client, email: str, password: str = PASSWORD):
    return client.post(LOGIN, {"email": email, "password": password}, format="json")


def test_login_answers_are_not_stored(db, client_for, make_tenant, make_member):
    tenant = make_tenant("acme")
    user = make_member(tenant)

    ok = _login(client_for(tenant), user.email)
    refused = _login(client_for(tenant), user.email, "not-the-password")

    assert ok.status_code == 200
    assert_no_store(ok)
    assert refused.status_code == 401
    assert_no_store(refused)


def test_token_refresh_is_not_stored(db, client_for, make_tenant, make_member):
    tenant = make_tenant("acme")
    user = make_member(tenant)
    refresh = _login(client_for(tenant), user.email).json()["refresh"]

    response = client_for(tenant).post(
        "/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json"
    )

    assert response.status_code == 200
    assert_no_store(response)


def test_invitation_accept_is_not_stored(db, client_for, make_tenant, make_member):
    tenant = make_tenant("acme")
    token = make_invitation(tenant, make_member(tenant, role="admin"), "new@example.test")

    response = client_for(tenant).post(
        f"/api/v1/invitations/{token}/accept/",
        {"password": "a-fresh-long-passphrase"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert "access" in response.json()
    assert_no_store(response)
