"""OWASP API4:2023 Unrestricted Resource Consumption: requests that cost the server (or the
organization's bill) without a bound: huge pages, huge or deeply nested bodies, unbounded
strings, unlimited request rates, brute force.

What this product exposes: page-number and keyset lists capped at API_MAX_PAGE_SIZE; a body
limit (API_MAX_BODY_BYTES, 413 before any view reads it); a JSON nesting limit
(API_MAX_JSON_DEPTH, 400 malformed_request); max lengths on stored strings; a per-plan API
rate per organization (429 with Retry-After and X-RateLimit-* headers) and per-IP and
per-account throttles on login. Probed here, table-driven from the URL map and the OpenAPI
schema:

- every list of both hosts, seeded beyond the cap, asked for a million rows: the cap;
  malformed page sizes are a 400 or the default, never more than the cap nor a 5xx;
- every write of both hosts: a declared or actual body over the limit is 413 (also
  anonymous), a bracket bomb is 400 malformed_request;
- every string property of every write body: one character over its maxLength is a 400
  naming it; one without a maxLength, 100,000 characters long, is refused (4xx); the
  schema's query parameters likewise;
- the plan's rate: shared by every member and application of an organization, 429 with
  Retry-After once spent, another organization on another plan unaffected, unauthenticated
  requests do not spend it; login throttles per IP and per account.
"""

import time
from datetime import timedelta
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from accounts.apikeys.models import ApiKey
from accounts.models import Invitation, Membership, OAuthApplication, Role, User
from accounts.scim.models import ScimToken
from billing.ledger.models import Invoice
from billing.models import BillingAccount, Plan
from saas.audit.models import AuditEntry
from saas.webhooks_out.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from saas.workspace.models import Project, Task
from tenants.domains.models import CustomDomain
from tests.factories import PASSWORD
from tests.support.http import assert_error
from tests.support.owasp import (
    APP_READ,
    Route,
    World,
    api_client,
    attempt,
    caller_client,
    fill,
    is_list_operation,
    openapi_schema,
    operation_id,
    operations,
    request_properties,
    routes,
    send,
    valid_body,
)

pytestmark = pytest.mark.django_db

LISTS = [
    (method, route)
    for host in ("public", "tenant")
    for method, route in operations(host)
    if is_list_operation(method, route)
]
WRITES = [
    (method, route)
    for host in ("public", "tenant")
    for method, route in operations(host)
    if method in ("POST", "PUT", "PATCH")
]
PRICED = {
    ("POST", "billing-checkout"),
    ("POST", "billing-preview-change"),
    ("POST", "billing-change"),
}


def _client(world: World, route: Route) -> Any:
    return caller_client(world, Role.OWNER) if route.host == "tenant" else api_client("localhost")


# ---- page sizes -------------------------------------------------------------------------------


def _seed(world: World, name: str | None, rows: int) -> None:
    """`rows` more rows in the list `name` of acme (or the public catalog)."""
    acme = world.acme.tenant
    if name == "member-list":
        users = User.objects.bulk_create(User(email=f"bulk{i}@acme.test") for i in range(rows))
        Membership.objects.bulk_create(Membership(user=u, tenant=acme) for u in users)
    elif name == "invitation-list":
        expires = timezone.now() + timedelta(days=1)
        Invitation.objects.bulk_create(
            Invitation(
                tenant=acme, email=f"i{i}@x.test", token_hash=f"{i:064d}", expires_at=expires
            )
            for i in range(rows)
        )
    elif name == "oauth-application-list":
        OAuthApplication.objects.bulk_create(
            OAuthApplication(
                tenant=acme,
                name=f"a{i}",
                client_type="confidential",
                authorization_grant_type="client-credentials",
            )
            for i in range(rows)
        )
    elif name == "domain-list":
        CustomDomain.objects.bulk_create(
            CustomDomain(tenant=acme, hostname=f"d{i}.customer.test", token="t")
            for i in range(rows)
        )
    elif name == "scim-token-list":
        ScimToken.objects.bulk_create(
            ScimToken(tenant=acme, name=f"t{i}", prefix="scim_x", token_hash=f"{i:064d}")
            for i in range(rows)
        )
    elif name == "auth-mfa-webauthn":  # the caller's (the owner's) own security keys
        Authenticator.objects.bulk_create(
            Authenticator(
                user=world.acme.owner,
                type=Authenticator.Type.WEBAUTHN,
                data={"name": f"k{i}", "rp_id": world.acme.host},
            )
            for i in range(rows)
        )
    elif name == "api-key-list":
        owner = world.acme.owner.pk
        ApiKey.objects.bulk_create(
            ApiKey(
                tenant=acme,
                name=f"k{i}",
                prefix="sk_test_x",
                key_hash=f"{i:064d}",
                scopes="read",
                created_by_id=owner,
            )
            for i in range(rows)
        )
    elif name == "plan-list":
        Plan.objects.bulk_create(Plan(code=f"bulk-{i}", name=f"Bulk {i}") for i in range(rows))
    else:
        with acme:
            now = timezone.now()
            if name == "project-list":
                Project.objects.bulk_create(Project(name=f"p{i}") for i in range(rows))
            elif name == "task-list":
                project = world.acme.project
                Task.objects.bulk_create(Task(project=project, title=f"t{i}") for i in range(rows))
            elif name == "billing-invoices":
                Invoice.objects.bulk_create(
                    Invoice(
                        stripe_invoice_id=f"in_bulk_{i}", status="paid", currency="usd", created=now
                    )
                    for i in range(rows)
                )
            elif name == "webhook-endpoint-list":
                WebhookEndpoint.objects.bulk_create(
                    WebhookEndpoint(url=f"https://h{i}.example.com/", secret_encrypted="-")
                    for i in range(rows)
                )
            elif name == "webhook-delivery-list":
                event = WebhookEvent.objects.create(
                    msg_id="msg_bulk", type="project.created", data={}, created_at=now
                )
                WebhookDelivery.objects.bulk_create(
                    WebhookDelivery(endpoint_id=world.acme.webhook_endpoint_id, event=event)
                    for _ in range(rows)
                )
            elif name == "audit-log":
                AuditEntry.objects.bulk_create(
                    AuditEntry(actor_kind="system", action="bulk.x", target_type="x")
                    for _ in range(rows)
                )
            else:
                raise AssertionError(f"no seed for the list {name}: add one")


@pytest.mark.parametrize(("method", "route"), LISTS, ids=operation_id)
def test_every_list_caps_its_page_size(world: World, method: str, route: Route) -> None:
    cap = settings.API_MAX_PAGE_SIZE
    _seed(world, route.name, cap + 1)
    client = _client(world, route)
    path = fill(route, world.acme.ids())
    body = client.get(f"{path}?page_size=1000000").json()
    assert len(body["results"]) == cap
    assert body["next"]
    for size in ("abc", "0", "-5", "1e9", "99999999999999999999999", "", "true"):
        response = client.get(f"{path}?page_size={size}")
        assert response.status_code in (200, 400), (size, response.content[:200])
        if response.status_code == 200:
            assert len(response.json()["results"]) <= cap, size


def test_every_list_is_probed() -> None:
    names = {route.name for _, route in LISTS}
    assert {"member-list", "project-list", "task-list", "audit-log", "plan-list"} <= names


# ---- bodies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "route"), WRITES, ids=operation_id)
def test_bodies_over_the_limit_are_413_before_anything_reads_them(
    world: World, method: str, route: Route
) -> None:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    path = fill(route, world.acme.ids())
    host = world.acme.host if route.host == "tenant" else "localhost"
    for client in (api_client(host), _client(world, route)):
        declared = send(client, method, path, {"x": 1}, CONTENT_LENGTH=str(limit + 1))
        assert_error(declared, 413, "request_too_large")
        actual = client.generic(method, path, "x" * (limit + 1), "application/json")
        assert_error(actual, 413, "request_too_large")


BOMB = "[" * 50_000 + "]" * 50_000


@pytest.mark.parametrize(("method", "route"), WRITES, ids=operation_id)
def test_deeply_nested_json_is_refused_on_every_write(
    world: World, method: str, route: Route, loose_rates: Any
) -> None:
    client = _client(world, route)
    path = fill(route, world.acme.ids())
    response = client.generic(method, path, BOMB, "application/json")
    if route.name == "stripe-webhook":  # its signature over the raw body is checked first
        assert_error(response, 400)
    elif request_properties(method, route) or valid_body(method, route, world.acme):
        assert_error(response, 400, "malformed_request")
    else:  # a bodyless operation does not read the body: it answers as without one
        assert response.status_code != 500
        assert response.status_code == attempt(client, method, path).status_code


# ---- strings ----------------------------------------------------------------------------------

UNBOUNDED = 100_000


def _too_long(prop: dict[str, Any], length: int) -> str:
    if prop.get("format") == "email":
        return "x" * (length - len("@x.test")) + "@x.test"
    return "x" * length


def _types(prop: dict[str, Any]) -> list[Any]:
    kind = prop.get("type")
    return list(kind) if isinstance(kind, list) else [kind]


def _string_properties(method: str, route: Route, body: dict[str, Any]) -> dict[str, Any]:
    props = {
        name: prop
        for name, prop in request_properties(method, route).items()
        if "string" in _types(prop)
        and not prop.get("enum")
        and prop.get("format") not in ("date", "date-time")
    }
    for name, value in body.items():  # bodies the schema does not describe yet
        if isinstance(value, str) and name not in request_properties(method, route):
            props[name] = {"type": "string"}
    return props


STRING_WRITES = [(m, r) for m, r in WRITES if r.name != "stripe-webhook"]


@pytest.mark.parametrize(("method", "route"), STRING_WRITES, ids=operation_id)
def test_long_strings_are_refused(
    world: World, method: str, route: Route, loose_rates: Any, request: pytest.FixtureRequest
) -> None:
    if (method, route.name) in PRICED:
        request.getfixturevalue("catalog")
    client = _client(world, route)
    path = fill(route, world.acme.ids())
    body = valid_body(method, route, world.acme) or {}
    wrong = {}
    for name, prop in _string_properties(method, route, body).items():
        limit = prop.get("maxLength")
        value = _too_long(prop, limit + 1 if limit else UNBOUNDED)
        response = attempt(client, method, path, {**body, name: value})
        if limit:
            fields = (response.json().get("error") or {}).get("fields") or {}
            if response.status_code != 400 or name not in fields:
                wrong[name] = (limit, response.status_code, response.content[:150])
        elif not 400 <= response.status_code < 500:
            wrong[name] = ("unbounded", response.status_code, response.content[:150])
    assert wrong == {}


def _query_parameters_with_max_length() -> list[tuple[str, str, int]]:
    found = []
    for path, item in openapi_schema()["paths"].items():
        for parameter in (item.get("get") or {}).get("parameters", []):
            limit = (parameter.get("schema") or {}).get("maxLength")
            if parameter.get("in") == "query" and limit:
                found.append((path, parameter["name"], int(limit)))
    return found


def test_long_query_parameters_are_refused(world: World) -> None:
    params = _query_parameters_with_max_length()
    assert params  # search, the audit log's filters
    owner = caller_client(world, Role.OWNER)
    public = {route.path for route in routes("public")}
    ids = world.acme.ids()
    for path, name, limit in params:
        url = path.replace("{project_id}", str(ids["project_id"]))
        client = api_client("localhost") if path in public else owner
        response = client.get(url, {name: "x" * (limit + 1)})
        assert response.status_code == 400, (path, name, response.content[:200])
        assert name in response.json()["error"]["fields"], (path, name)


# ---- rates ------------------------------------------------------------------------------------


def _spend(world: World, limit: int) -> list[Any]:
    """`limit` + 1 requests on acme by four different callers, in one rate window."""
    callers = [Role.OWNER, Role.MEMBER, Role.VIEWER, APP_READ]
    for _ in range(3):
        window = int(time.time() // 60)
        answers = [
            caller_client(world, callers[n % len(callers)]).get("/api/v1/projects/")
            for n in range(limit + 1)
        ]
        if int(time.time() // 60) == window:
            return answers
        cache.delete_pattern("*billing:rate:*")  # type: ignore[attr-defined]
    raise AssertionError("could not stay within one rate window")


def test_the_plans_rate_is_shared_by_the_organization_and_answers_429(
    world: World, frozen_rate_window: float
) -> None:
    limit = 4
    Plan.objects.filter(code=settings.BILLING_SIGNUP_PLAN).update(api_requests_per_minute=limit)
    pro = Plan.objects.get(code="pro")
    BillingAccount.objects.filter(tenant=world.beta.tenant).update(plan=pro)
    for _ in range(10):  # unauthenticated requests do not spend the organization's budget
        assert api_client(world.acme.host).get("/api/v1/projects/").status_code == 401
    answers = _spend(world, limit)
    for n, response in enumerate(answers[:limit]):
        assert response.status_code == 200, response.content
        assert response["X-RateLimit-Limit"] == str(limit)
        assert response["X-RateLimit-Remaining"] == str(limit - n - 1)
    refused = answers[limit]
    assert_error(refused, 429, "rate_limited")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["X-RateLimit-Remaining"] == "0"
    write = caller_client(world, Role.ADMIN).post("/api/v1/projects/", {"name": "x"}, format="json")
    assert_error(write, 429, "rate_limited")
    # Another organization, on another plan, has its own budget.
    other = caller_client(world, Role.OWNER, world.beta).get("/api/v1/projects/")
    assert other.status_code == 200
    assert other["X-RateLimit-Limit"] == str(pro.api_requests_per_minute)


def test_login_is_throttled_per_ip_and_per_account(world: World, tight_rates: Any) -> None:
    side = world.acme
    client = api_client(side.host)

    def login(email: str, ip: str) -> Any:
        body = {"email": email, "password": "Wrong-Horse-Battery-9"}
        return client.post("/api/v1/auth/login/", body, format="json", REMOTE_ADDR=ip)

    target = side.users[Role.ADMIN].email
    # One account from many addresses: the account's budget (3/min) runs out.
    per_account = [login(target, f"10.0.0.{n}").status_code for n in range(5)]
    assert per_account[:3] == [401, 401, 401]
    assert per_account[3:] == [429, 429]
    # Even the right password is refused while throttled.
    right = client.post(
        "/api/v1/auth/login/", {"email": target, "password": PASSWORD}, format="json"
    )
    assert_error(right, 429, "rate_limited")
    assert int(right["Retry-After"]) > 0
    # Many accounts from one address: the address's budget (5/min) runs out.
    per_ip = [login(f"nobody{n}@acme.test", "10.9.9.9").status_code for n in range(7)]
    assert per_ip[:5] == [401] * 5
    assert per_ip[5:] == [429, 429]


def test_the_limits_are_configured(world: World) -> None:
    assert settings.API_MAX_PAGE_SIZE <= 100
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 1024 * 1024
    assert settings.API_MAX_JSON_DEPTH <= 32
