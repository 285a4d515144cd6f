"""Login, reset and invitations are throttled per IP and per account, in Redis."""

from tests.factories import PASSWORD


def test_login_is_throttled_per_account_with_retry_after(
    db, tight_rates, client_for, make_tenant, make_member
):
    tight_rates["login_ip"] = "10/min"
    tenant = make_tenant("acme")
    user = make_member(tenant)
    client = client_for(tenant)
    codes = [
        client.post(
            "/api/v1/auth/login/", {"email": user.email, "password": "wrong"}, format="json"
        ).status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    throttled = client.post(
        "/api/v1/auth/login/", {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "rate_limited"
    assert int(throttled["Retry-After"]) > 0
    # Another account from the same address is not locked out by the first one's count.
    other = make_member(tenant)
    ok = client.post(
        "/api/v1/auth/login/", {"email": other.email, "password": PASSWORD}, format="json"
    )
    assert ok.status_code == 200


def test_login_is_throttled_per_ip_across_accounts(db, tight_rates, client_for, make_tenant):
    client = client_for(make_tenant("acme"))
    codes = [
        client.post(
            "/api/v1/auth/login/", {"email": f"u{i}@example.test", "password": "x"}, format="json"
        ).status_code
        for i in range(6)
    ]
    assert codes[:5] == [401] * 5
    assert codes[5] == 429


def test_password_reset_is_throttled(db, tight_rates, client_for, make_tenant):
    client = client_for(make_tenant("acme"))
    codes = [
        client.post(
            "/api/v1/auth/password/reset/", {"email": f"r{i}@example.test"}, format="json"
        ).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]
