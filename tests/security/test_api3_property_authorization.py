"""OWASP API3:2023 Broken Object Property Level Authorization: a caller writes properties
it must not set (mass assignment: ids, owners, roles, tenant and billing state) or reads
properties it must not see (password hashes, token hashes, secrets).

What this product exposes: write bodies are StrictSerializers (unknown keys are a 400 that
names them); dj-rest-auth's own bodies (login, logout, refresh, password change and reset)
ignore what they do not know; responses are explicit output serializers. Probed here:

- every write operation of both hosts (from the URL map) with every server-owned property
  (id, created_by, tenant and schema fields, role, status, plan and Stripe ids, staff flags,
  OAuth client ids and secrets, ...) that the operation does not accept: refused with a 400
  naming each one, or (for the bodies that ignore unknown keys, and bodyless operations)
  ignored: the state afterwards is exactly what the same request without them leaves;
- every read and every write answer, as the owner and an application with every scope: no
  password or token hash, no secret, no Stripe or schema internals; tokens only in the token
  answers and an OAuth client secret only in the answer that registers the application;
- the audit log records changes without the secrets they involve.
"""

import json
import re
from typing import Any

import pytest
from django.db import transaction

from accounts.apikeys.models import ApiKey
from accounts.models import Invitation, Membership, OAuthApplication, Role, User
from accounts.sso.models import SsoConnection
from billing.models import BillingAccount
from saas.audit.models import AuditEntry
from saas.workspace.models import Project, Task
from tenants.models import Tenant
from tests.factories import PASSWORD
from tests.support.owasp import (
    APP_ALL,
    NEW_PASSWORD,
    ROLES,
    SESSION_OPERATIONS,
    Route,
    World,
    api_client,
    attempt,
    caller_client,
    fill,
    is_credential_operation,
    operation_id,
    operations,
    request_properties,
    send,
    valid_body,
    world_idp,
)
from tests.support.webauthn import key_row

pytestmark = pytest.mark.django_db

# Properties the server owns, with what setting them would take over.
SERVER_OWNED: dict[str, Any] = {
    "id": 999_999,
    "pk": 999_999,
    "created_by": 1,
    "created_at": "2000-01-01T00:00:00Z",
    "updated_at": "2000-01-01T00:00:00Z",
    "tenant": 999_999,
    "tenant_id": 999_999,
    "schema_name": "public",
    "slug": "taken-over",
    "domain": "evil.example",
    "status": "active",
    "role": "owner",
    "user": 1,
    "user_id": 1,
    "owner": 1,
    "is_staff": True,
    "is_superuser": True,
    "is_active": True,
    "email": "attacker@evil.example",
    "plan": "scale",
    "stripe_customer_id": "cus_attacker",
    "stripe_subscription_id": "sub_attacker",
    "client_id": "attacker-client",
    "client_secret": "attacker-secret",
    "grant_type": "client-credentials",
    "client_type": "public",
    "invited_by": 1,
    "token_hash": "0" * 64,
    "expires_at": "2999-01-01T00:00:00Z",
    "accepted_at": "2000-01-01T00:00:00Z",
    "memberships": [{"tenant_id": 999_999, "role": "owner"}],
    "project": 999_999,
    "scopes": ["admin"],
}
# The properties each is tried with on its own (the rest go in together).
CORE = ("id", "tenant", "role", "status", "is_staff")

# The webhook's body is Stripe's event, authenticated by its signature (test_api10).
NOT_PROBED = {("POST", "stripe-webhook")}

WRITES = [
    (method, route)
    for host in ("public", "tenant")
    for method, route in operations(host)
    if method != "GET" and (method, route.name) not in NOT_PROBED
]


def _snapshot(world: World) -> dict[str, Any]:
    """Everything a mass assignment could reach, without ids of rows the request makes."""
    acme = world.acme.tenant
    tenants = list(Tenant.objects.values_list("slug", "status", "schema_name").order_by("slug"))
    with acme:
        projects = sorted(Project.objects.values_list("name", "created_by_id", "created_at"))
        tasks = sorted(
            Task.objects.values_list("title", "project__name", "created_by_id", "assignee_id")
        )
    return {
        "tenants": tenants,
        "billing": list(
            BillingAccount.objects.order_by("tenant_id").values_list(
                "tenant_id", "plan_id", "status", "stripe_customer_id", "stripe_subscription_id"
            )
        ),
        "members": sorted(Membership.objects.values_list("tenant_id", "user_id", "role")),
        "users": sorted(User.objects.values_list("email", "is_staff", "is_superuser", "is_active")),
        "invitations": sorted(
            Invitation.objects.values_list("tenant_id", "email", "role", "invited_by_id")
        ),
        "applications": sorted(
            OAuthApplication.objects.values_list(
                "tenant_id", "user_id", "authorization_grant_type", "client_type", "allowed_scopes"
            )
        ),
        "projects": [(n, c) for n, c, _ in projects],
        "tasks": tasks,
    }


def _after(world: World, client: Any, method: str, path: str, body: Any) -> tuple[Any, Any]:
    """The answer and the state it leaves, then rolled back."""
    with transaction.atomic():
        response = send(client, method, path, body)
        state = _snapshot(world)
        transaction.set_rollback(True)
    return response, state


def _client_for(world: World, route: Route) -> Any:
    if route.host == "public":
        return api_client("localhost")
    return caller_client(world, Role.OWNER)


PRICED = {
    ("POST", "billing-checkout"),
    ("POST", "billing-preview-change"),
    ("POST", "billing-change"),
}


def _refused_or_ignored(response: Any, baseline: Any, state: Any, expected: Any, sent: Any) -> str:
    """ "" when every property in `sent` was refused (a 400 naming it, nothing applied) or
    ignored (the same answer and effect as without it); else what went wrong."""
    if response.status_code == 400 and baseline.status_code != 400:
        fields = response.json()["error"].get("fields") or {}
        named = {name: fields[name] for name in sent if name in fields}
        if any(messages != ["Unknown field."] for messages in named.values()):
            return f"refused for another reason: {named}"
        return "" if named or not sent else f"400 naming none of {sorted(sent)}"
    if response.status_code != baseline.status_code:
        return f"answered {response.status_code}, {baseline.status_code} without them"
    return "" if state == expected else "changed what the request without them does not"


@pytest.mark.parametrize(("method", "route"), WRITES, ids=operation_id)
def test_server_owned_properties_are_refused_or_ignored(
    world: World, method: str, route: Route, request: pytest.FixtureRequest, loose_rates: Any
) -> None:
    if (method, route.name) in PRICED:
        request.getfixturevalue("catalog")
    client = _client_for(world, route)
    ids = world.acme.ids()
    if "key_id" in route.params:  # the world's key is a plain member's: one of the owner's
        ids["key_id"] = key_row(world.acme.owner, world.acme.host).pk
    path = fill(route, ids)
    body = valid_body(method, route, world.acme) or {}
    accepted = set(request_properties(method, route)) | set(body)
    extra = {name: value for name, value in SERVER_OWNED.items() if name not in accepted}
    baseline, expected = _after(world, client, method, path, body or None)
    assert baseline.status_code not in (401, 403, 404, 415), baseline.content  # it got in
    problems = {}
    response, state = _after(world, client, method, path, {**body, **extra})
    if problem := _refused_or_ignored(response, baseline, state, expected, extra):
        problems["all at once"] = problem
    for name in CORE:
        if name in extra:
            alone = {**body, name: extra[name]}
            response, state = _after(world, client, method, path, alone)
            if problem := _refused_or_ignored(response, baseline, state, expected, {name}):
                problems[name] = problem
    assert problems == {}


def test_every_write_is_probed() -> None:
    """Every write of the URL map has a body here, or takes none (its extra keys are then
    checked as ignored), so a new write operation is probed without anyone adding it."""
    names = {(method, route.name) for method, route in WRITES}
    assert ("POST", "signup") in names
    assert ("PATCH", "auth-user") in names
    assert len(names) >= 28


# ---- what answers show ----------------------------------------------------------------------

FORBIDDEN_KEYS = {
    "password",
    "password_hash",
    "token_hash",
    "client_secret",
    "secret",
    "hash_client_secret",
    "stripe_customer_id",
    "stripe_subscription_id",
    "stripe_subscription_item_id",
    "customer_idempotency_key",
    "schema_name",
    "is_superuser",
    "is_staff",
}
HASH = re.compile(r"^(md5|argon2|pbkdf2_sha256|pbkdf2_sha1|bcrypt|sha1)\$|^\$argon2")
# A Stripe or API key (more than an API key's shown prefix: sk_live_ and 8 characters).
SECRET_SHAPES = re.compile(
    r"(whsec_|(?:sk|rk)_(?:test|live)_[A-Za-z0-9]{9,}|eyJ[A-Za-z0-9_-]{10,}\.)"
)
TOKEN_ANSWERS = {
    ("POST", "auth-login"),
    ("POST", "auth-token-refresh"),
    ("POST", "invitation-accept"),
    ("POST", "auth-login-mfa"),
    ("POST", "sso-token"),
}
# Secrets shown once, in the answer that made them: an application's client secret, a TOTP
# secret (and the otpauth URI carrying it), a webhook endpoint's signing secret (made or
# rotated).
SECRET_ANSWERS: dict[tuple[str, str | None], tuple[str, ...]] = {
    ("POST", "oauth-application-list"): ("client_secret",),
    ("POST", "auth-mfa-totp"): ("secret", "otpauth_uri"),
    ("POST", "webhook-endpoint-list"): ("secret",),
    ("POST", "webhook-endpoint-rotate-secret"): ("secret",),
    # An API key (accounts.apikeys), made or rotated.
    ("POST", "api-key-list"): ("key",),
    ("POST", "api-key-rotate"): ("key",),
}


def _leaks(value: Any, secrets: list[str], path: str = "") -> list[str]:
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in FORBIDDEN_KEYS:
                found.append(f"{path}.{key}")
            found += _leaks(item, secrets, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _leaks(item, secrets, f"{path}[{index}]")
    elif isinstance(value, str):
        if HASH.search(value) or SECRET_SHAPES.search(value):
            found.append(f"{path}={value[:40]}")
        found += [f"{path} holds a secret" for secret in secrets if secret and secret in value]
    return found


def _secrets(world: World) -> list[str]:
    hashes = list(User.objects.values_list("password", flat=True))
    stored = list(OAuthApplication.objects.values_list("client_secret", flat=True))
    invitations = list(Invitation.objects.values_list("token_hash", flat=True))
    invitations += list(ApiKey.objects.values_list("key_hash", flat=True))
    plain = [side.app_secret for side in (world.acme, world.beta)]
    plain += [side.invitation_token for side in (world.acme, world.beta)]
    # SSO client secrets: as stored (encrypted) and as the provider issued them.
    stored += list(SsoConnection.objects.values_list("client_secret_encrypted", flat=True))
    plain += list(world_idp().clients.values())
    return [*hashes, *stored, *invitations, *plain]


READS = [
    (method, route)
    for host in ("public", "tenant")
    for method, route in operations(host)
    if method == "GET"
    and route.pattern.startswith("api/v1/")
    and not is_credential_operation(method, route)  # the SSO login's redirects
]


# Reads that need a query parameter to answer 200: the TLS front's question names a host.
READ_QUERIES = {"tls-ask": {"domain": "acme.localhost"}}


@pytest.mark.parametrize("caller", [Role.OWNER, APP_ALL])
def test_reads_show_no_secrets(world: World, caller: str) -> None:
    secrets = _secrets(world)
    found = {}
    for _, route in READS:
        client = (
            caller_client(world, caller) if route.host == "tenant" else _client_for(world, route)
        )
        if caller not in ROLES and ("GET", route.name) in SESSION_OPERATIONS:
            continue  # a person's own login only (test_api5)
        query = READ_QUERIES.get(str(route.name), {})
        response = client.get(fill(route, world.acme.ids()), query)
        assert response.status_code == 200, (route.path, response.content)
        is_json = response["Content-Type"].startswith("application/json")
        if leaks := _leaks(response.json() if is_json else response.content.decode(), secrets):
            found[route.path] = leaks
    assert found == {}


def test_write_answers_show_no_secrets(world: World, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("catalog")
    secrets = _secrets(world)
    found = {}
    for method, route in WRITES:
        client = _client_for(world, route)
        body = valid_body(method, route, world.acme)
        response = attempt(client, method, fill(route, world.acme.ids()), body)
        answer = response.json() if response.content else {}
        key = (method, route.name)
        if key in TOKEN_ANSWERS:
            assert {"access", "refresh"} <= set(answer), route.path
            answer = {k: v for k, v in answer.items() if k not in ("access", "refresh")}
        for name in SECRET_ANSWERS.get(key, ()):
            assert answer.pop(name), route.path
        if leaks := _leaks(answer, secrets):
            found[f"{method} {route.path}"] = leaks
    assert found == {}


def test_the_client_secret_is_shown_once_and_stored_hashed(world: World) -> None:
    owner = caller_client(world, Role.OWNER)
    body = {"name": "Once", "grant_type": "client-credentials", "scopes": ["read"]}
    created = owner.post("/api/v1/oauth/applications/", body, format="json")
    assert created.status_code == 201, created.content
    secret, app_id = created.json()["client_secret"], created.json()["id"]
    assert len(secret) >= 32
    stored = OAuthApplication.objects.get(pk=app_id).client_secret
    assert stored != secret
    assert HASH.search(stored)
    for response in (
        owner.get(f"/api/v1/oauth/applications/{app_id}/"),
        owner.get("/api/v1/oauth/applications/"),
        owner.patch(f"/api/v1/oauth/applications/{app_id}/", {"name": "Twice"}, format="json"),
    ):
        assert response.status_code == 200
        assert secret not in response.content.decode()
        assert "client_secret" not in response.content.decode()


def test_the_audit_log_records_changes_without_their_secrets(world: World) -> None:
    acme = world.acme
    owner = caller_client(world, Role.OWNER)
    app = owner.post(
        "/api/v1/oauth/applications/",
        {"name": "Audited", "grant_type": "client-credentials", "scopes": ["read"]},
        format="json",
    ).json()
    invited = owner.post(
        "/api/v1/invitations/", {"email": "audited@example.test", "role": "admin"}, format="json"
    )
    assert invited.status_code == 201
    owner.patch(f"/api/v1/members/{acme.extra.pk}/", {"role": "viewer"}, format="json")
    member = caller_client(world, Role.MEMBER)
    changed = member.post(
        "/api/v1/auth/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        format="json",
    )
    assert changed.status_code == 200
    log = owner.get("/api/v1/audit-log/?page_size=100")
    assert log.status_code == 200
    actions = {entry["action"] for entry in log.json()["results"]}
    assert {"oauth_app.created", "invitation.created", "member.role_changed"} <= actions
    secrets = [*_secrets(world), app["client_secret"]]
    assert _leaks(log.json(), secrets) == []
    with acme.tenant:
        stored = json.dumps(list(AuditEntry.objects.values("changes")))
    assert [secret for secret in secrets if secret in stored] == []
    assert "client_secret" not in stored
    assert "token_hash" not in stored
