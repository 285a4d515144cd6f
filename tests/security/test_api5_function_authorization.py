"""OWASP API5:2023 Broken Function Level Authorization: a caller reaches a function (an
endpoint and method) that its role should not, typically an administrative one.

What this product exposes: every tenant endpoint names the capability each method needs
(`capabilities`, accounts.roles) and the role's capabilities (narrowed by an OAuth2 token's
scopes) decide; a few account endpoints take any credential of the tenant or only a person's
own login; the public host serves signup, the plan catalog, the Stripe webhook, OAuth2 and
the operator admin. Probed here:

- every authenticated operation of the tenant host (from the URL map) x every caller
  (owner, admin, billing, member, viewer, anonymous, the other tenant's owner, OAuth
  application tokens with the read scope and with every scope): exactly the callers whose
  capabilities include the operation's succeed, the others get 403 (401 without a credential
  of this tenant); the capability each operation asks for is pinned, so loosening one fails;
- the public host exposes no tenant route, tenant hosts expose neither the public routes nor
  the admin nor OAuth2's pages, unknown hosts nothing;
- a read-only or suspended organization refuses writes (or everything) on every operation;
- role escalation through the member functions (granting owner, transferring ownership,
  demoting the owner, scopes beyond the role).
"""

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.access import member_access_forget
from accounts.models import Membership, OAuthApplication, Role
from accounts.roles import Capability
from saas.audit.models import AuditEntry
from tenants.models import Tenant, TenantStatus
from tests.support.http import assert_error
from tests.support.oauth import App, form_post
from tests.support.owasp import (
    ANONYMOUS,
    ANY_GRANT_OPERATIONS,
    APP_ALL,
    CALLERS,
    OTHER_TENANT,
    ROLES,
    SESSION_OPERATIONS,
    Route,
    World,
    api_client,
    api_routes,
    app_token,
    attempt,
    caller_capabilities,
    caller_client,
    caller_user,
    error_code,
    fill,
    is_credential_operation,
    operation_id,
    operations,
    routes,
    send,
    side_app_register,
    valid_body,
)

pytestmark = pytest.mark.django_db

C = Capability
READ, WRITE = C.RESOURCES_READ, C.RESOURCES_WRITE

# What each operation asks for, pinned: a view that asks for less fails here.
EXPECTED_CAPABILITY: dict[tuple[str, str], Capability] = {
    ("GET", "member-list"): C.MEMBERS_READ,
    ("DELETE", "member-leave"): C.MEMBERSHIP_SELF,
    ("POST", "member-transfer-ownership"): C.OWNERSHIP_TRANSFER,
    ("PATCH", "member-detail"): C.MEMBERS_MANAGE,
    ("DELETE", "member-detail"): C.MEMBERS_MANAGE,
    ("GET", "invitation-list"): C.MEMBERS_MANAGE,
    ("POST", "invitation-list"): C.MEMBERS_MANAGE,
    ("DELETE", "invitation-revoke"): C.MEMBERS_MANAGE,
    ("GET", "billing-subscription"): C.BILLING_READ,
    ("POST", "billing-preview-change"): C.BILLING_MANAGE,
    ("POST", "billing-change"): C.BILLING_MANAGE,
    ("POST", "billing-cancel"): C.BILLING_MANAGE,
    ("POST", "billing-resume"): C.BILLING_MANAGE,
    ("POST", "billing-checkout"): C.BILLING_MANAGE,
    ("POST", "billing-portal"): C.BILLING_MANAGE,
    ("GET", "billing-invoices"): C.BILLING_READ,
    ("GET", "billing-entitlements"): C.BILLING_READ,
    ("GET", "usage"): C.BILLING_MANAGE,
    ("GET", "organization"): C.MEMBERS_READ,
    ("PATCH", "organization"): C.MEMBERS_MANAGE,
    ("GET", "project-list"): READ,
    ("POST", "project-list"): WRITE,
    ("GET", "project-detail"): READ,
    ("PATCH", "project-detail"): WRITE,
    ("DELETE", "project-detail"): WRITE,
    ("GET", "task-list"): READ,
    ("POST", "task-list"): WRITE,
    ("GET", "task-detail"): READ,
    ("PATCH", "task-detail"): WRITE,
    ("DELETE", "task-detail"): WRITE,
    ("GET", "oauth-application-list"): C.OAUTH_APPS_MANAGE,
    ("POST", "oauth-application-list"): C.OAUTH_APPS_MANAGE,
    ("GET", "oauth-application-detail"): C.OAUTH_APPS_MANAGE,
    ("PATCH", "oauth-application-detail"): C.OAUTH_APPS_MANAGE,
    ("DELETE", "oauth-application-detail"): C.OAUTH_APPS_MANAGE,
    ("GET", "audit-log"): C.AUDIT_READ,
    ("GET", "auth-mfa-policy"): C.MEMBERS_MANAGE,
    ("PUT", "auth-mfa-policy"): C.MEMBERS_MANAGE,
    ("GET", "domain-list"): C.MEMBERS_MANAGE,
    ("POST", "domain-list"): C.MEMBERS_MANAGE,
    ("GET", "domain-detail"): C.MEMBERS_MANAGE,
    ("DELETE", "domain-detail"): C.MEMBERS_MANAGE,
    ("POST", "domain-verify"): C.MEMBERS_MANAGE,
    ("GET", "sso-connection"): C.MEMBERS_MANAGE,
    ("PUT", "sso-connection"): C.MEMBERS_MANAGE,
    ("DELETE", "sso-connection"): C.MEMBERS_MANAGE,
    ("POST", "sso-domain-verify"): C.MEMBERS_MANAGE,
    ("GET", "scim-token-list"): C.MEMBERS_MANAGE,
    ("POST", "scim-token-list"): C.MEMBERS_MANAGE,
    ("DELETE", "scim-token-detail"): C.MEMBERS_MANAGE,
    ("GET", "webhook-event-types"): C.MEMBERS_MANAGE,
    ("GET", "webhook-endpoint-list"): C.MEMBERS_MANAGE,
    ("POST", "webhook-endpoint-list"): C.MEMBERS_MANAGE,
    ("GET", "webhook-endpoint-detail"): C.MEMBERS_MANAGE,
    ("PATCH", "webhook-endpoint-detail"): C.MEMBERS_MANAGE,
    ("DELETE", "webhook-endpoint-detail"): C.MEMBERS_MANAGE,
    ("POST", "webhook-endpoint-rotate-secret"): C.MEMBERS_MANAGE,
    ("POST", "webhook-endpoint-test"): C.MEMBERS_MANAGE,
    ("GET", "webhook-delivery-list"): C.MEMBERS_MANAGE,
    ("GET", "webhook-delivery-detail"): C.MEMBERS_MANAGE,
    ("POST", "webhook-delivery-replay"): C.MEMBERS_MANAGE,
    ("POST", "webhook-delivery-replay-range"): C.MEMBERS_MANAGE,
}

# Allowed callers succeed (2xx) except where the world makes the business rule refuse
# after authorization passed: the owner cannot leave; there is no subscription to change.
BUSINESS_REFUSALS: dict[tuple[str, str], str] = {
    ("DELETE", "member-leave"): "owner_required",  # the owner (and apps acting as it)
    ("POST", "billing-preview-change"): "no_subscription",
    ("POST", "billing-change"): "no_subscription",
    ("POST", "billing-cancel"): "no_subscription",
    ("POST", "billing-resume"): "no_subscription",
    # No factor set up in this world, and no setup begun (tests/accounts/mfa does those).
    ("POST", "auth-mfa-totp-confirm"): "mfa_setup_not_started",
    ("POST", "auth-mfa-totp-remove"): "mfa_not_enrolled",
    ("POST", "auth-mfa-recovery-codes-regenerate"): "mfa_not_enrolled",
    ("POST", "auth-mfa-webauthn-register-complete"): "mfa_setup_not_started",
    # The world's security key is the extra member's: any caller's own key is not there.
    ("PATCH", "auth-mfa-webauthn-key"): "mfa_webauthn_not_found",
    ("POST", "auth-mfa-webauthn-key-remove"): "mfa_webauthn_not_found",
}

# API keys are per person (accounts.apikeys): the world's key is the owner's, which a
# billing user, member or viewer cannot see (404, as for any key not theirs), and which only
# its creator rotates (an admin sees and revokes it, but a rotation's key would act as the
# owner).
_KEY_OBJECT_OPERATIONS = [
    ("GET", "api-key-detail"),
    ("PATCH", "api-key-detail"),
    ("DELETE", "api-key-detail"),
    ("POST", "api-key-rotate"),
]
NOT_YOURS: dict[tuple[str, str, str], tuple[int, str]] = {
    (method, name, role): (404, "api_key_not_found")
    for method, name in _KEY_OBJECT_OPERATIONS
    for role in (Role.BILLING, Role.MEMBER, Role.VIEWER)
}
NOT_YOURS[("POST", "api-key-rotate", Role.ADMIN)] = (403, "api_key_not_yours")

# Cases with a defect of their own, each proven by a strict xfail below (none left).
KNOWN_DEFECTS: set[tuple[str, str, str]] = set()

PRICED = {
    ("POST", "billing-checkout"),
    ("POST", "billing-preview-change"),
    ("POST", "billing-change"),
}

AUTHENTICATED = [
    (method, route)
    for method, route in operations("tenant")
    if not is_credential_operation(method, route)
]


def expected_allowed(method: str, route: Route, caller: str) -> bool:
    if caller in (ANONYMOUS, OTHER_TENANT):
        return False
    key = (method, route.name)
    if key in ANY_GRANT_OPERATIONS:
        return True
    if key in SESSION_OPERATIONS:
        return caller in ROLES  # a person's own login, never an application's token
    return EXPECTED_CAPABILITY[(method, str(route.name))] in caller_capabilities(caller)


def test_every_authenticated_operation_is_classified() -> None:
    """The tables above cover the URL map exactly: a new operation must say who may call it."""
    classified = set(EXPECTED_CAPABILITY) | SESSION_OPERATIONS | ANY_GRANT_OPERATIONS
    served = {(method, route.name) for method, route in AUTHENTICATED}
    assert served == classified


@pytest.mark.parametrize(("method", "route"), AUTHENTICATED, ids=operation_id)
def test_only_the_roles_granted_the_capability_succeed(
    world: World, method: str, route: Route, request: pytest.FixtureRequest
) -> None:
    key = (method, str(route.name))
    if key in EXPECTED_CAPABILITY:
        assert route.capability(method) == EXPECTED_CAPABILITY[key]
    if key in PRICED:
        request.getfixturevalue("catalog")  # the prices exist in (the emulated) Stripe
    path = fill(route, world.acme.ids())
    wrong: dict[str, Any] = {}
    for caller in CALLERS:
        if (method, route.name, caller) in KNOWN_DEFECTS:
            continue
        body = valid_body(method, route, world.acme, caller_user(world, caller))
        response = attempt(caller_client(world, caller), method, path, body)
        status, code = response.status_code, error_code(response)
        if caller in (ANONYMOUS, OTHER_TENANT):
            ok = status == 401
        elif (method, route.name, caller) in NOT_YOURS:
            ok = (status, code) == NOT_YOURS[(method, str(route.name), caller)]
        elif expected_allowed(method, route, caller):
            refusal = BUSINESS_REFUSALS.get(key)
            ok = 200 <= status < 300 or (status in (404, 409) and code == refusal)
        else:
            ok = status == 403 and code == "permission_denied"
        if not ok:
            wrong[caller] = (status, code)
    assert wrong == {}


def test_an_application_token_cannot_make_its_user_leave(world: World) -> None:
    admin = world.acme.users[Role.ADMIN]
    application, secret = side_app_register(world.acme, admin, ["read"])
    token = app_token(application, secret, "read")
    client = api_client(world.acme.host, token)
    response = send(client, "DELETE", "/api/v1/members/me/")
    assert Membership.objects.filter(tenant=world.acme.tenant, user=admin).exists()
    assert_error(response, 403, "permission_denied")


def test_an_application_can_delete_itself(world: World) -> None:
    client = caller_client(world, APP_ALL)
    response = send(client, "DELETE", f"/api/v1/oauth/applications/{world.acme.app.pk}/")
    assert response.status_code == 204, response.content
    assert not OAuthApplication.objects.filter(pk=world.acme.app.pk).exists()
    # The audit entry still names the application that acted (known since authentication).
    with world.acme.tenant:
        entry = AuditEntry.objects.filter(action="oauth_app.deleted").latest("pk")
    assert (entry.actor_kind, entry.actor_app) == ("oauth2_app", world.acme.app.client_id)


# ---- hosts ------------------------------------------------------------------------------------


def _any_method(route: Route) -> str:
    return route.methods[0] if route.methods else "GET"


@pytest.mark.parametrize("route", api_routes("tenant"), ids=operation_id)
def test_the_public_host_serves_no_tenant_route(world: World, route: Route) -> None:
    path = fill(route, world.acme.ids())
    client = api_client("localhost", world.acme.tokens[Role.OWNER])
    for method in route.methods:
        assert_error(send(client, method, path, {}), 404, "not_found")


# The public host's API and pages; of the operator admin's hundred routes, its entry points.
PUBLIC_ONLY = [
    route
    for route in routes("public")
    if not route.pattern.startswith("admin/") or route.name in ("index", "login")
]


@pytest.mark.parametrize("route", PUBLIC_ONLY, ids=operation_id)
def test_tenant_hosts_serve_no_public_route(world: World, route: Route) -> None:
    """Signup, plans, the webhook, the docs, OAuth2's pages and the operator admin live on
    the public host only."""
    for caller in (ANONYMOUS, Role.OWNER):
        client = caller_client(world, caller)
        response = send(client, _any_method(route), route.path)
        assert response.status_code == 404, (caller, route.path)


@pytest.mark.parametrize("path", ["/admin/", "/admin/login/", "/o/authorize/", "/o/token/"])
def test_an_unknown_host_serves_nothing(world: World, path: str) -> None:
    for host in ("nobody.localhost", "acme.localhost.evil.example", "beta.acme.localhost"):
        response = api_client(host).get(path)
        assert response.status_code in (400, 404), (host, response.status_code)
        assert error_code(response) in ("tenant_not_found", "invalid_host")


# ---- the organization's status ----------------------------------------------------------------

WRITES = [(m, r) for m, r in AUTHENTICATED if m != "GET"]


@pytest.mark.parametrize(
    ("status", "code"),
    [(TenantStatus.READ_ONLY, "tenant_read_only"), (TenantStatus.SUSPENDED, "tenant_suspended")],
)
def test_an_inactive_organization_refuses_writes_on_every_operation(
    world: World, status: str, code: str
) -> None:
    """read_only keeps login, logout and billing open (to pay its way back); suspended
    refuses everything."""
    Tenant.objects.filter(pk=world.acme.tenant.pk).update(status=status)
    client = caller_client(world, Role.OWNER)
    served = {}
    for method, route in WRITES:
        path = fill(route, world.acme.ids())
        response = attempt(client, method, path, valid_body(method, route, world.acme))
        open_when_read_only = path.startswith(("/api/v1/auth/", "/api/v1/billing/"))
        if status == TenantStatus.READ_ONLY and open_when_read_only:
            continue
        served[f"{method} {route.path}"] = (response.status_code, error_code(response))
    assert set(served.values()) == {(403, code)}
    if status == TenantStatus.SUSPENDED:
        assert_error(client.get("/api/v1/projects/"), 403, code)


# ---- escalation through the member functions ------------------------------------------------


def _client(world: World, role: str) -> APIClient:
    return caller_client(world, role)


def test_nobody_grants_owner_or_more_than_they_hold(world: World) -> None:
    extra = world.acme.extra.pk
    for role in (Role.OWNER, Role.ADMIN):
        client = _client(world, role)
        refused = attempt(client, "PATCH", f"/api/v1/members/{extra}/", {"role": "owner"})
        assert "owner" in str(assert_error(refused, 400, "invalid")["fields"]["role"])
        invited = attempt(
            client, "POST", "/api/v1/invitations/", {"email": "x@example.test", "role": "owner"}
        )
        assert_error(invited, 400)
    # The owner's role moves only by transfer, which only the owner may start.
    owner_id = world.acme.owner.pk
    admin = _client(world, Role.ADMIN)
    demote = attempt(admin, "PATCH", f"/api/v1/members/{owner_id}/", {"role": "viewer"})
    assert_error(demote, 409, "owner_required")
    assert_error(attempt(admin, "DELETE", f"/api/v1/members/{owner_id}/"), 409, "owner_required")
    take = attempt(
        admin, "POST", "/api/v1/members/transfer-ownership/", {"user_id": admin_id(world)}
    )
    assert_error(take, 403, "permission_denied")
    assert Membership.objects.get(tenant=world.acme.tenant, user_id=owner_id).role == Role.OWNER


def admin_id(world: World) -> int:
    return world.acme.users[Role.ADMIN].pk


@pytest.mark.parametrize("role", [Role.ADMIN, Role.BILLING, Role.MEMBER, Role.VIEWER])
def test_no_role_raises_its_own_role(world: World, role: str) -> None:
    me = world.acme.users[role].pk
    client = _client(world, role)
    to_owner = attempt(client, "PATCH", f"/api/v1/members/{me}/", {"role": "owner"})
    assert to_owner.status_code in (400, 403), to_owner.content
    if role != Role.ADMIN:
        to_admin = attempt(client, "PATCH", f"/api/v1/members/{me}/", {"role": "admin"})
        assert_error(to_admin, 403, "permission_denied")
    assert Membership.objects.get(tenant=world.acme.tenant, user_id=me).role == role


def test_an_application_acts_with_its_creators_current_role(world: World) -> None:
    """A client-credentials token acts as the admin who registered the application, with
    the role that admin holds now: demoted to viewer, the application can still read but
    no longer write or read the audit log, and cannot get a token for the write scope."""
    admin = world.acme.users[Role.ADMIN]
    application, secret = side_app_register(world.acme, admin, ["read", "write", "admin"])
    minted_before = app_token(application, secret, "read write admin")
    Membership.objects.filter(tenant=world.acme.tenant, user=admin).update(role=Role.VIEWER)
    member_access_forget(user_id=admin.pk, tenant_ids=[world.acme.tenant.pk])
    client = api_client(world.acme.host, minted_before)
    assert client.get("/api/v1/projects/").status_code == 200
    assert_error(attempt(client, "POST", "/api/v1/projects/", {"name": "x"}), 403)
    assert_error(client.get("/api/v1/audit-log/"), 403)
    refused = form_post(
        api_client("localhost"),
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "write"},
        HTTP_AUTHORIZATION=App(application, secret).basic,
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"
