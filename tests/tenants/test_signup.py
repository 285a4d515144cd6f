"""POST /api/v1/signup/ on the public host: all or nothing."""

import threading

import pytest
import requests
from django.db import connection

from accounts.models import Membership, Role, User
from billing.models import BillingAccount
from tenants import organizations, services
from tenants.models import Domain, Tenant
from tests.factories import SIGNUP
from tests.support.db import tenant_schemas


def assert_nothing_left(before_users: int = 0) -> None:
    assert Tenant.objects.count() == 0
    assert Domain.objects.count() == 0
    assert Membership.objects.count() == 0
    assert User.objects.count() == before_users
    assert tenant_schemas() == set()


def test_signup_creates_tenant_domain_schema_and_owner(db, client_for) -> None:
    response = client_for(None).post("/api/v1/signup/", SIGNUP, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["domain"] == "acme.localhost"
    assert body["tenant"]["slug"] == "acme"
    assert body["tenant"]["status"] == "active"
    assert body["owner"]["email"] == "owner@acme.test"
    tenant = Tenant.objects.get(slug="acme")
    assert Membership.objects.get(tenant=tenant).role == Role.OWNER
    assert "t_acme" in tenant_schemas()
    assert "password" not in body["owner"]


def test_the_new_owner_can_use_the_new_tenant_host(db, client_for) -> None:
    client_for(None).post("/api/v1/signup/", SIGNUP, format="json")
    from tenants.resolution import tenant_cache_invalidate

    tenant_cache_invalidate()
    owner_client = client_for(Tenant.objects.get(slug="acme"))
    login = {"email": "owner@acme.test", "password": SIGNUP["password"]}
    access = owner_client.post("/api/v1/auth/login/", login, format="json").json()["access"]
    owner_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert (
        owner_client.post("/api/v1/projects/", {"name": "First"}, format="json").status_code == 201
    )


BAD_INPUTS = [
    pytest.param({"slug": "Acme"}, 400, "invalid_slug", id="uppercase-slug"),
    pytest.param({"slug": "a"}, 400, "invalid_slug", id="too-short"),
    pytest.param({"slug": "-acme"}, 400, "invalid_slug", id="leading-hyphen"),
    pytest.param({"slug": "ac--me"}, 400, "invalid_slug", id="double-hyphen"),
    pytest.param({"slug": "acme_inc"}, 400, "invalid_slug", id="underscore"),
    pytest.param({"slug": "a" * 41}, 400, "invalid", id="too-long"),
    pytest.param({"slug": "acme.evil"}, 400, "invalid_slug", id="dot"),
    pytest.param({"slug": "admin"}, 400, "slug_reserved", id="reserved-admin"),
    pytest.param({"slug": "www"}, 400, "slug_reserved", id="reserved-www"),
    pytest.param({"slug": "api"}, 400, "slug_reserved", id="reserved-api"),
    pytest.param({"password": "password"}, 400, "weak_password", id="common-password"),
    pytest.param({"password": "123456789012"}, 400, "weak_password", id="numeric-password"),
    pytest.param({"password": "short"}, 400, "weak_password", id="short-password"),
    pytest.param({"email": "not-an-email"}, 400, "invalid", id="bad-email"),
    pytest.param({"name": 42}, 400, "invalid", id="name-not-string"),
    pytest.param({"slug": ["acme"]}, 400, "invalid", id="slug-list"),
    pytest.param({"password": None}, 400, "invalid", id="password-null"),
    pytest.param({"is_staff": True}, 400, "invalid", id="unknown-field"),
]


@pytest.mark.parametrize(("change", "status", "code"), BAD_INPUTS)
def test_bad_input_is_refused_and_leaves_nothing(db, client_for, change, status, code) -> None:
    response = client_for(None).post("/api/v1/signup/", {**SIGNUP, **change}, format="json")

    assert response.status_code == status, response.json()
    assert response.json()["error"]["code"] == code
    assert_nothing_left()


@pytest.mark.parametrize("missing", ["name", "slug", "email", "password"])
def test_missing_field_is_named(db, client_for, missing) -> None:
    body = {k: v for k, v in SIGNUP.items() if k != missing}
    response = client_for(None).post("/api/v1/signup/", body, format="json")
    assert response.status_code == 400
    assert missing in response.json()["error"]["fields"]
    assert_nothing_left()


@pytest.mark.parametrize(
    "raw", ["{not json", "[]", '"acme"', "null"], ids=["malformed", "list", "string", "null"]
)
def test_non_object_bodies_are_refused(db, client_for, raw) -> None:
    response = client_for(None).post("/api/v1/signup/", raw, content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()
    assert_nothing_left()


def test_oversized_body_is_refused_with_413(db, client_for, settings) -> None:
    body = {**SIGNUP, "name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}
    response = client_for(None).post("/api/v1/signup/", body, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert_nothing_left()


def test_taken_slug_is_a_conflict_and_changes_nothing(db, client_for) -> None:
    client_for(None).post("/api/v1/signup/", SIGNUP, format="json")
    again = {**SIGNUP, "email": "other@acme.test"}
    response = client_for(None).post("/api/v1/signup/", again, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "slug_taken"
    assert User.objects.filter(email="other@acme.test").count() == 0
    assert Tenant.objects.count() == 1


def test_taken_email_is_a_conflict_and_changes_nothing(db, client_for) -> None:
    client_for(None).post("/api/v1/signup/", SIGNUP, format="json")
    again = {**SIGNUP, "slug": "acme-two", "email": "OWNER@acme.test"}
    response = client_for(None).post("/api/v1/signup/", again, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"
    assert Tenant.objects.count() == 1
    assert "t_acme_two" not in tenant_schemas()


def test_failure_after_schema_creation_rolls_everything_back(
    committed, client_for, monkeypatch
) -> None:
    def fail(**kwargs):
        raise RuntimeError("membership store down")

    monkeypatch.setattr("tenants.organizations.membership_create", fail)
    response = client_for(None).post("/api/v1/signup/", SIGNUP, format="json")

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert response.json()["error"]["request_id"]
    assert_nothing_left()


def test_concurrent_signups_for_one_slug_make_one_tenant(committed, client_for) -> None:
    results: list[int] = []

    def signup(n: int) -> None:
        body = {**SIGNUP, "email": f"owner{n}@acme.test"}
        results.append(client_for(None).post("/api/v1/signup/", body, format="json").status_code)
        connection.close()

    threads = [threading.Thread(target=signup, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [201, 409, 409, 409]
    assert Tenant.objects.filter(slug="acme").count() == 1
    assert User.objects.count() == 1
    assert tenant_schemas() == {"t_acme"}


def test_a_signup_committed_between_the_slug_check_and_the_insert_is_a_conflict(
    committed, client_for, monkeypatch
) -> None:
    """The race the test above only sometimes hits: the other signup commits after our slug
    check, so django-tenants' own schema-name check (a ValidationError) sees it first."""
    after_the_check = services.schema_activate_public
    raced: list[bool] = []

    def signup_first() -> None:  # in a thread of its own: its own connection, committed
        organizations.organization_signup(**{**SIGNUP, "email": "first@acme.test"})
        connection.close()

    def another_signup_commits_first() -> None:
        if not raced:  # once: the other signup passes here too
            raced.append(True)
            thread = threading.Thread(target=signup_first)
            thread.start()
            thread.join()
        after_the_check()

    monkeypatch.setattr(services, "schema_activate_public", another_signup_commits_first)
    response = client_for(None).post("/api/v1/signup/", SIGNUP, format="json")

    assert response.status_code == 409, response.json()
    assert response.json()["error"]["code"] == "slug_taken"
    assert list(User.objects.values_list("email", flat=True)) == ["first@acme.test"]
    assert Tenant.objects.filter(slug="acme").count() == 1
    assert tenant_schemas() == {"t_acme"}


@pytest.mark.parametrize("same_slug", [False, True], ids=["other-slugs", "same-slug"])
def test_concurrent_signups_with_one_email_make_one_tenant_and_409s(
    committed, start_server, same_slug
) -> None:
    """20 signups for one email at once, on a real server with 20 request threads: one 201,
    nineteen 409 email_taken in the one error format, no 5xx, nothing half-made."""
    server = start_server(
        GUNICORN_CMD_ARGS="--threads 20",
        THROTTLE_SIGNUP_IP="100000/hour",
        THROTTLE_SIGNUP_DOMAIN="100000/hour",
    )
    count = 20
    barrier = threading.Barrier(count)
    answers: dict[int, requests.Response] = {}

    def signup(n: int) -> None:
        slug = "acme" if same_slug else f"acme-{n}"
        email = SIGNUP["email"].upper() if n % 2 else SIGNUP["email"]  # one address, any case
        body = {**SIGNUP, "slug": slug, "email": email}
        barrier.wait()
        answers[n] = server.post("/api/v1/signup/", "localhost", json=body)

    threads = [threading.Thread(target=signup, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(response.status_code for response in answers.values())
    assert statuses == [201] + [409] * (count - 1), [r.text for r in answers.values()]
    for response in answers.values():
        if response.status_code == 409:
            error = response.json()["error"]
            assert error["code"] == "email_taken"
            assert error["request_id"] == response.headers["X-Request-ID"]
    winner = next(r.json() for r in answers.values() if r.status_code == 201)
    tenant = Tenant.objects.get()
    assert tenant.slug == winner["tenant"]["slug"]
    assert list(User.objects.values_list("email", flat=True)) == ["owner@acme.test"]
    assert Domain.objects.get().tenant_id == tenant.pk
    assert Membership.objects.get().tenant_id == tenant.pk
    assert list(BillingAccount.objects.values_list("tenant_id", flat=True)) == [tenant.pk]
    assert tenant_schemas() == {tenant.schema_name}
