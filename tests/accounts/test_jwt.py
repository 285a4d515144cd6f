"""Tenant-bound JWTs: issued to members only, refused anywhere else, refreshed once."""

import base64
import json
import threading
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.db import connection

from accounts.models import Membership
from accounts.tokens import tenant_tokens_issue
from tenants.models import TenantStatus
from tenants.resolution import tenant_cache_invalidate
from tenants.services import tenant_set_status
from tests.factories import PASSWORD, make_user

LOGIN = "/api/v1/auth/login/"
REFRESH = "/api/v1/auth/token/refresh/"
PROJECTS = "/api/v1/projects/"


def login(client, email: str, password: str = PASSWORD):
    return client.post(LOGIN, {"email": email, "password": password}, format="json")


def bearer(client, token: str):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_member_logs_in_and_gets_a_pair_bound_to_the_tenant(
    db, client_for, make_tenant, make_member
):
    tenant = make_tenant("acme")
    user = make_member(tenant, role="admin")

    response = login(client_for(tenant), user.email.upper())

    assert response.status_code == 200, response.json()
    body = response.json()
    claims = jwt.decode(body["access"], settings.JWT_SIGNING_KEY, algorithms=["HS256"])
    assert claims["tid"] == tenant.pk
    assert claims["role"] == "admin"
    assert claims["sub"] == str(user.pk)
    assert claims["exp"] - claims["iat"] <= 15 * 60  # minutes, not hours
    assert body["user"]["email"] == user.email
    assert bearer(client_for(tenant), body["access"]).get(PROJECTS).status_code == 200


@pytest.mark.parametrize(
    "case",
    ["wrong-password", "unknown-email", "not-a-member", "inactive"],
)
def test_login_failures_all_look_the_same(db, client_for, make_tenant, make_member, case):
    acme, beta = make_tenant("acme"), make_tenant("beta")
    user = make_member(acme)
    email, password, host = user.email, PASSWORD, acme
    if case == "wrong-password":
        password = "not-the-password"
    elif case == "unknown-email":
        email = "nobody@example.test"
    elif case == "not-a-member":
        host = beta
    else:
        user.is_active = False
        user.save()

    response = login(client_for(host), email, password)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


def test_login_on_the_public_host_is_not_offered(db, client_for, make_tenant, make_member):
    user = make_member(make_tenant("acme"))
    assert login(client_for(None), user.email).status_code == 404


def test_token_of_tenant_a_is_refused_on_tenant_b_and_public(
    db, client_for, make_tenant, make_member
):
    acme, beta = make_tenant("acme"), make_tenant("beta")
    user = make_member(acme)
    make_member(beta, user=user)  # a member of both: the token still only opens acme
    access = login(client_for(acme), user.email).json()["access"]

    on_beta = bearer(client_for(beta), access).get(PROJECTS)
    assert on_beta.status_code == 401
    assert on_beta.json()["error"]["code"] == "token_wrong_tenant"
    on_public = bearer(client_for(None), access).get("/api/v1/signup/")
    assert on_public.status_code in (401, 405)
    public_user = bearer(client_for(None), access).get("/api/v1/auth/user/")
    assert public_user.status_code == 404


def _forge(claims: dict, *, key: str = "", alg: str = "HS256") -> str:
    if alg == "none":

        def part(data: dict) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

        return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."
    return jwt.encode(claims, key, algorithm=alg)


@pytest.mark.parametrize("attack", ["tampered", "alg-none", "wrong-key", "other-alg", "expired"])
def test_forged_and_expired_tokens_are_refused(db, client_for, make_tenant, make_member, attack):
    tenant = make_tenant("acme")
    user = make_member(tenant)
    good = tenant_tokens_issue(user=user, tenant=tenant, role="member").access_token
    claims = dict(good.payload)
    key = settings.JWT_SIGNING_KEY
    if attack == "tampered":
        header, payload, signature = str(good).split(".")
        claims["role"] = "owner"
        forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
        token = f"{header}.{forged_payload.decode()}.{signature}"
    elif attack == "alg-none":
        token = _forge(claims, alg="none")
    elif attack == "wrong-key":
        token = _forge(claims, key="another-key-of-at-least-thirty-two-bytes!!")
    elif attack == "other-alg":
        token = _forge(claims, key=key, alg="HS512")
    else:
        good.set_exp(lifetime=-timedelta(seconds=1))
        token = str(good)

    response = bearer(client_for(tenant), token).get(PROJECTS)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_not_valid"


def test_refresh_rotates_and_a_reused_refresh_token_is_refused(
    db, client_for, make_tenant, make_member
):
    tenant = make_tenant("acme")
    user = make_member(tenant)
    client = client_for(tenant)
    first = login(client, user.email).json()["refresh"]

    rotated = client.post(REFRESH, {"refresh": first}, format="json")
    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != first
    reused = client.post(REFRESH, {"refresh": first}, format="json")
    assert reused.status_code == 401
    assert (
        client.post(REFRESH, {"refresh": rotated.json()["refresh"]}, format="json").status_code
        == 200
    )


def test_concurrent_refreshes_with_one_token_rotate_it_once(
    committed, client_for, make_tenant, make_member
):
    tenant = make_tenant("acme")
    user = make_member(tenant)
    refresh = login(client_for(tenant), user.email).json()["refresh"]
    results: list[int] = []

    def use() -> None:
        results.append(
            client_for(tenant).post(REFRESH, {"refresh": refresh}, format="json").status_code
        )
        connection.close()

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 401, 401, 401]


def test_refresh_token_of_another_tenant_is_refused(db, client_for, make_tenant, make_member):
    acme, beta = make_tenant("acme"), make_tenant("beta")
    user = make_member(acme)
    make_member(beta, user=user)
    refresh = login(client_for(acme), user.email).json()["refresh"]
    response = client_for(beta).post(REFRESH, {"refresh": refresh}, format="json")
    assert response.status_code == 401


def test_logout_blacklists_the_refresh_token(db, client_for, make_tenant, make_member):
    tenant = make_tenant("acme")
    user = make_member(tenant)
    pair = login(client_for(tenant), user.email).json()
    client = bearer(client_for(tenant), pair["access"])

    assert (
        client.post("/api/v1/auth/logout/", {"refresh": pair["refresh"]}, format="json").status_code
        == 200
    )
    refused = client_for(tenant).post(REFRESH, {"refresh": pair["refresh"]}, format="json")
    assert refused.status_code == 401


def test_removed_member_loses_access_and_refresh_at_once(
    db, client_for, make_tenant, make_member, django_capture_on_commit_callbacks
):
    tenant = make_tenant("acme")
    user = make_member(tenant)
    pair = login(client_for(tenant), user.email).json()
    client = bearer(client_for(tenant), pair["access"])
    assert client.get(PROJECTS).status_code == 200  # access now cached

    with django_capture_on_commit_callbacks(execute=True):
        Membership.objects.filter(user=user, tenant=tenant).delete()

    assert client.get(PROJECTS).status_code == 401
    assert (
        client_for(tenant).post(REFRESH, {"refresh": pair["refresh"]}, format="json").status_code
        == 401
    )


def test_deactivated_user_loses_access_and_refresh_at_once(
    db, client_for, make_tenant, make_member, django_capture_on_commit_callbacks
):
    tenant = make_tenant("acme")
    user = make_member(tenant)
    pair = login(client_for(tenant), user.email).json()
    client = bearer(client_for(tenant), pair["access"])
    assert client.get(PROJECTS).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = False
        user.save()

    assert client.get(PROJECTS).status_code == 401
    assert (
        client_for(tenant).post(REFRESH, {"refresh": pair["refresh"]}, format="json").status_code
        == 401
    )


def test_suspended_tenant_refuses_existing_tokens(db, client_for, make_tenant, make_member):
    tenant = make_tenant("acme")
    user = make_member(tenant)
    pair = login(client_for(tenant), user.email).json()

    tenant_set_status(tenant=tenant, status=TenantStatus.SUSPENDED)
    tenant_cache_invalidate()

    assert bearer(client_for(tenant), pair["access"]).get(PROJECTS).status_code == 403
    assert (
        client_for(tenant).post(REFRESH, {"refresh": pair["refresh"]}, format="json").status_code
        == 403
    )


def test_role_change_applies_to_the_next_request(
    db, client_for, make_tenant, make_member, django_capture_on_commit_callbacks
):
    tenant = make_tenant("acme")
    user = make_member(tenant, role="member")
    client = bearer(client_for(tenant), login(client_for(tenant), user.email).json()["access"])
    assert client.post(PROJECTS, {"name": "x"}, format="json").status_code == 201

    with django_capture_on_commit_callbacks(execute=True):
        Membership.objects.filter(user=user).update(role="viewer")
        Membership.objects.get(user=user).save()  # the signal path a service takes

    assert client.post(PROJECTS, {"name": "y"}, format="json").status_code == 403


def test_authenticated_request_runs_no_user_or_membership_query(
    db, client_for, make_tenant, make_member
):
    from django.test.utils import CaptureQueriesContext

    tenant = make_tenant("acme")
    client = client_for(tenant, make_member(tenant))
    client.get(PROJECTS)  # warms the host and access caches
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PROJECTS).status_code == 200
    tables = " ".join(q["sql"] for q in queries.captured_queries)
    assert "accounts_user" not in tables
    assert "accounts_membership" not in tables
    assert "tenants_domain" not in tables


def test_user_endpoint_lists_every_membership(db, client_for, make_tenant, make_member):
    acme, beta = make_tenant("acme"), make_tenant("beta")
    user = make_user()
    make_member(acme, role="owner", user=user)
    make_member(beta, role="viewer", user=user)

    body = client_for(acme, user).get("/api/v1/auth/user/").json()

    assert body["email"] == user.email
    assert [(m["slug"], m["role"]) for m in body["memberships"]] == [
        ("acme", "owner"),
        ("beta", "viewer"),
    ]
    assert body["memberships"][0]["domain"] == "acme.localhost"
    renamed = client_for(acme, user).patch(
        "/api/v1/auth/user/", {"full_name": "Ada"}, format="json"
    )
    assert renamed.status_code == 200
    user.refresh_from_db()
    assert user.full_name == "Ada"
    assert user.check_password(PASSWORD)  # the profile update did not touch the password
