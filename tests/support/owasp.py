"""The OWASP API Top 10 modules' tools (tests/security/test_api*.py); their fixtures (`world`,
`production`, `recorder`) are in tests/fixtures/security.py.

- The route map: every URL pattern of both URL confs, with its view class and the methods it
  serves, read from Django's resolver, so the tables below follow the code (a new route is
  probed, or fails a coverage check, without anyone adding it by hand).
- `world`: two organizations, acme and beta, each with one user per role, a second member
  to act on, a project with a task, a pending invitation, an OAuth application, an invoice
  and audit entries; callers for every role, anonymous, the other tenant's owner and OAuth
  application tokens.
- Requests that may write run inside a savepoint that is rolled back (`attempt`), so one
  test can try every caller on the same objects; `api_client` shares one request handler.
- Valid bodies for every operation (`valid_body`), the OpenAPI document's view of each
  operation, generous throttles for tests about something else (`loose_rates`), what a
  child process with production settings answers (`production`), and a loopback listener
  that records connections (`recorder`, for SSRF).
"""

import contextlib
import functools
import re
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.db import connection, transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerOauthRedirectView,
    SpectacularSwaggerView,
)
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.apikeys.services import api_key_create
from accounts.mfa.services import login_start
from accounts.models import Invitation, Membership, OAuthApplication, Role, User
from accounts.oauth.services import oauth_application_create
from accounts.roles import Capability, capabilities_of
from accounts.scim.services import scim_token_create
from accounts.scopes import SCOPES, capabilities_of_scopes, scopes_grantable_by
from accounts.sso.crypto import token_hash
from accounts.sso.models import SsoConnection, SsoDomain, SsoLoginCode
from accounts.sso.services import sso_connection_configure
from accounts.tokens import TenantPasswordResetTokenGenerator, tenant_tokens_issue
from billing.ledger.models import Invoice
from billing.models import Plan
from billing.services.catalog import catalog_seed_defaults
from saas.audit.models import AuditEntry
from saas.webhooks_out.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from saas.webhooks_out.signing import secret_encrypt, secret_generate
from saas.workspace.models import Project, Task
from tenants.domains.models import CustomDomain, DomainStatus, VerificationMethod
from tenants.models import Domain, Tenant
from tenants.resolution import tenant_cache_invalidate
from tests.factories import PASSWORD, make_invitation, make_member, make_organization, make_user
from tests.support.db import drop_tenant_schemas
from tests.support.http import host_of
from tests.support.oauth import App, client_credentials_token
from tests.support.oidc_idp import OidcProvider, RunningProvider
from tests.support.webauthn import key_row

ROLES = (Role.OWNER, Role.ADMIN, Role.BILLING, Role.MEMBER, Role.VIEWER)
NEW_PASSWORD = "a-fresh-long-passphrase-77"
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DOCS_VIEWS = (
    SpectacularAPIView,
    SpectacularSwaggerView,
    SpectacularSwaggerOauthRedirectView,
    SpectacularRedocView,
)


# ---- the route map ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern: `pattern` as Django writes it, `path` as OpenAPI does."""

    host: str  # "public" or "tenant"
    pattern: str
    name: str | None
    view: Any  # the view class, or the function for plain Django views
    methods: tuple[str, ...]

    @property
    def path(self) -> str:
        return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.pattern)

    @property
    def params(self) -> list[str]:
        return re.findall(r"<(?:\w+:)?(\w+)>", self.pattern)

    @property
    def is_api(self) -> bool:
        return self.pattern.startswith("api/")

    def capability(self, method: str) -> Capability | None:
        return getattr(self.view, "capabilities", {}).get(method)

    @property
    def is_docs(self) -> bool:
        """The OpenAPI document and its viewers (Swagger UI, its OAuth2 redirect, ReDoc)."""
        return isinstance(self.view, type) and issubclass(self.view, DOCS_VIEWS)


def _walk(patterns: list, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


def _methods_of(view: Any) -> tuple[str, ...]:
    allowed = getattr(view, "http_method_names", ())
    return tuple(m for m in HTTP_METHODS if m.lower() in allowed and hasattr(view, m.lower()))


def routes(host: str) -> list[Route]:
    urlconf = settings.PUBLIC_SCHEMA_URLCONF if host == "public" else settings.TENANT_URLCONF
    found = []
    for pattern, entry in _walk(get_resolver(urlconf).url_patterns):
        view = getattr(entry.callback, "view_class", None) or entry.callback
        found.append(Route(host, pattern, entry.name, view, _methods_of(view)))
    return found


def api_routes(host: str) -> list[Route]:
    return [route for route in routes(host) if route.is_api]


def operations(host: str) -> list[tuple[str, Route]]:
    """(method, route) for every API operation served on `host` (the OpenAPI document and
    its viewers, also under /api/, are pages about the API, not operations of it)."""
    return [
        (method, route)
        for route in api_routes(host)
        if not route.is_docs
        for method in route.methods
    ]


@functools.cache
def openapi_schema() -> dict[str, Any]:
    """The OpenAPI document as /api/schema/ builds it (both hosts' API routes)."""
    generator = SchemaGenerator(urlconf="config.urls")
    return dict(generator.get_schema(request=None, public=True))


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    components = openapi_schema()["components"]["schemas"]
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def schema_operation(method: str, route: Route) -> dict[str, Any] | None:
    item = openapi_schema()["paths"].get(route.path) or {}
    operation = item.get(method.lower())
    return dict(operation) if operation else None


def request_properties(method: str, route: Route) -> dict[str, dict[str, Any]]:
    """The JSON body's properties the schema documents for this operation."""
    operation = schema_operation(method, route) or {}
    content = (operation.get("requestBody") or {}).get("content", {})
    body = content.get("application/json", {}).get("schema")
    if body is None:
        return {}
    return {name: _resolve(prop) for name, prop in _resolve(body).get("properties", {}).items()}


def is_list_operation(method: str, route: Route) -> bool:
    """A paginated list: its 200 answer is the {"results": [...]} envelope."""
    operation = schema_operation(method, route) or {}
    content = operation.get("responses", {}).get("200", {}).get("content", {})
    answer = content.get("application/json", {}).get("schema")
    return (
        method == "GET"
        and answer is not None
        and "results" in _resolve(answer).get("properties", {})
    )


def operation_id(value: Any) -> str:
    """pytest ids: `PATCH /api/v1/projects/{project_id}/`."""
    if isinstance(value, Route):
        return value.path
    return str(value)


# Tenant-host operations that take no bearer token: the credential is in the body or path
# (login, refresh, reset confirm, an invitation's token) or there is none (reset request).
CREDENTIAL_OPERATIONS = {
    ("POST", "auth-login"),
    ("POST", "auth-token-refresh"),
    ("POST", "auth-password-reset"),
    ("POST", "auth-password-reset-confirm"),
    ("POST", "invitation-accept"),
    ("POST", "auth-login-mfa"),  # the login's challenge token (accounts.mfa)
    # Single sign-on: the login is how a person proves who they are (the provider's answer
    # and a one-time code are the credentials).
    ("GET", "sso-login"),
    ("GET", "sso-callback"),
    ("POST", "sso-token"),
    # SAML: the IdP's signed answer is the credential; our SP metadata is public.
    ("POST", "sso-saml-acs"),
    ("GET", "sso-saml-metadata"),
}
# Authenticated, but no capability names them: any valid credential of this tenant
# (HasTenantGrant) or a person's own login (IsTenantSession: never an application's token).
# Leaving the organization names a capability and also needs the person's own login.
SESSION_OPERATIONS = {
    ("POST", "auth-logout"),
    ("PATCH", "auth-user"),
    ("POST", "auth-password-change"),
    ("DELETE", "member-leave"),
    # A person's own second factors (accounts.mfa): membership:self, and their own login.
    ("GET", "auth-mfa"),
    ("POST", "auth-mfa-totp"),
    ("POST", "auth-mfa-totp-confirm"),
    ("POST", "auth-mfa-totp-remove"),
    ("POST", "auth-mfa-recovery-codes-regenerate"),
    ("GET", "auth-mfa-webauthn"),
    ("POST", "auth-mfa-webauthn-register"),
    ("POST", "auth-mfa-webauthn-register-complete"),
    ("PATCH", "auth-mfa-webauthn-key"),
    ("POST", "auth-mfa-webauthn-key-remove"),
    # API keys (accounts.apikeys): membership:self and the person's own login, since a
    # credential must not mint credentials; what else a caller may touch is per key.
    ("GET", "api-key-list"),
    ("POST", "api-key-list"),
    ("GET", "api-key-detail"),
    ("PATCH", "api-key-detail"),
    ("DELETE", "api-key-detail"),
    ("POST", "api-key-rotate"),
}
ANY_GRANT_OPERATIONS = {("GET", "auth-user")}


def is_credential_operation(method: str, route: Route) -> bool:
    return (method, route.name) in CREDENTIAL_OPERATIONS


# ---- the two organizations -----------------------------------------------------------------


@dataclass
class Side:
    tenant: Tenant
    users: dict[str, User]
    extra: User  # a plain member the member routes act on
    project: Project
    task: Task
    invitation: Invitation
    invitation_token: str
    app: OAuthApplication
    app_secret: str
    invoice: Invoice
    audit_ids: list[int]
    domain: CustomDomain  # verified: routes to this side (verifying again asks no DNS)
    tokens: dict[str, str] = field(default_factory=dict)  # caller name -> bearer value
    scim_token_id: int = 0
    webauthn_key_id: int = 0  # a security key of `extra` (no caller's own)
    webhook_endpoint_id: int = 0  # with one delivered delivery (replayable)
    webhook_delivery_id: int = 0
    api_key_id: int = 0  # the owner's (accounts.apikeys)

    @property
    def host(self) -> str:
        return host_of(self.tenant)

    @property
    def owner(self) -> User:
        return self.users[Role.OWNER]

    def ids(self) -> dict[str, Any]:
        """Path parameters naming this side's objects."""
        return {
            "project_id": self.project.pk,
            "task_id": self.task.pk,
            "user_id": self.extra.pk,
            "invitation_id": self.invitation.pk,
            "token": self.invitation_token,
            "application_id": self.app.pk,
            "domain_id": self.domain.pk,
            # The SSO connection's email domain (verified: verifying again asks no DNS).
            "domain": f"{self.tenant.slug}.test",
            "scim_token_id": self.scim_token_id,
            "key_id": self.webauthn_key_id,
            "endpoint_id": self.webhook_endpoint_id,
            "delivery_id": self.webhook_delivery_id,
            "api_key_id": self.api_key_id,
            # The SCIM service's (scim/v2/): a group is a role, and the discovery documents.
            "group_id": "admin",
            "name": "User",
            "schema_id": "urn:ietf:params:scim:schemas:core:2.0:User",
            "path": "Unknown",  # any other path under scim/v2/: its 404
        }


@dataclass
class World:
    acme: Side
    beta: Side

    def other(self, side: Side) -> Side:
        return self.beta if side is self.acme else self.acme


def open_plan_limits() -> None:
    """The signup plan allows everything these tests touch: OAuth applications (feature
    api), the audit log, custom domains, single sign-on, SCIM tokens, any number of seats
    and projects, and a request rate no test reaches (test_api4 sets its own to test the rate
    limit)."""
    Plan.objects.filter(code=settings.BILLING_SIGNUP_PLAN).update(
        features=["api", "audit_log", "custom_domains", "sso", "scim"],
        seats_limit=None,
        projects_limit=None,
        api_requests_per_minute=100_000,
    )


@functools.cache
def world_idp() -> OidcProvider:
    """The OIDC provider both organizations' SSO connections use: one per test process,
    on loopback (a daemon thread), so PUT /api/v1/sso/ can fetch its discovery document."""
    return RunningProvider().start()


def _side(slug: str) -> Side:
    tenant = make_organization(slug)
    users: dict[str, User] = {}
    for role in ROLES:
        user = make_user(email=f"{role}@{slug}.test", full_name=f"{slug} {role}")
        make_member(tenant, role, user=user)
        users[role] = user
    extra = make_user(email=f"extra@{slug}.test", full_name=f"{slug} extra")
    make_member(tenant, Role.MEMBER, user=extra)
    token = make_invitation(tenant, users[Role.OWNER], f"invitee@{slug}.test")
    registered = oauth_application_create(
        tenant=tenant,
        user_id=users[Role.OWNER].pk,
        by_role=Role.OWNER,
        name=f"{slug} integration",
        grant_type=OAuthApplication.GRANT_CLIENT_CREDENTIALS,
        redirect_uris=[],
        scopes=list(SCOPES),
    )
    client_id, secret = world_idp().client()
    sso_connection_configure(
        tenant=tenant,
        issuer=world_idp().issuer,
        client_id=client_id,
        client_secret=secret,
        domains=[f"{slug}.test"],
        policy="optional",
        default_role=Role.MEMBER,
    )
    # Proven, as POST .../verify/ records it (tests/accounts/sso test the checks).
    SsoDomain.objects.filter(connection__tenant=tenant).update(
        verified_at=timezone.now(), verified_by="dns"
    )
    with tenant:
        # beta's rows get ids acme never has (each schema numbers its own rows).
        padding = 3 if slug == "beta" else 0
        for n in range(padding):
            Project.objects.create(name=f"padding {n}").delete()
        project = Project.objects.create(
            name=f"{slug} project", description=f"{slug} plans", created_by_id=users[Role.OWNER].pk
        )
        for n in range(padding):
            Task.objects.create(project=project, title=f"padding {n}").delete()
        task = Task.objects.create(project=project, title=f"{slug} task", assignee_id=extra.pk)
        invoice = Invoice.objects.create(
            stripe_invoice_id=f"in_{slug}_0001",
            number=f"{slug.upper()}-0001",
            status="paid",
            currency="usd",
            total=900,
            created=timezone.now() - timedelta(days=1),
        )
        audit_ids = list(AuditEntry.objects.values_list("pk", flat=True))
        webhook_endpoint, webhook_delivery = _webhook_rows(slug, padding)
    hostname = f"app.{slug}-customer.test"
    domain = CustomDomain.objects.create(
        tenant=tenant,
        hostname=hostname,
        token=f"{slug}-domain-token",
        status=DomainStatus.VERIFIED,
        verified_by=VerificationMethod.DNS,
        verified_at=timezone.now(),
    )
    Domain.objects.create(domain=hostname, tenant=tenant, is_primary=False)
    return Side(
        tenant=tenant,
        users=users,
        extra=extra,
        project=project,
        task=task,
        invitation=Invitation.objects.get(tenant=tenant, email=f"invitee@{slug}.test"),
        invitation_token=token,
        app=registered.application,
        app_secret=registered.client_secret,
        invoice=invoice,
        audit_ids=audit_ids,
        domain=domain,
        scim_token_id=scim_token_create(
            tenant=tenant, user_id=users[Role.OWNER].pk, name=f"{slug} IdP"
        ).token.pk,
        webauthn_key_id=key_row(extra, host_of(tenant)).pk,
        webhook_endpoint_id=webhook_endpoint.pk,
        webhook_delivery_id=webhook_delivery.pk,
        api_key_id=api_key_create(
            tenant=tenant,
            user_id=users[Role.OWNER].pk,
            by_role=Role.OWNER,
            name=f"{slug} script",
            scopes=list(SCOPES),
        ).key.pk,
    )


def _webhook_rows(slug: str, padding: int) -> tuple[WebhookEndpoint, WebhookDelivery]:
    """A webhook endpoint (on loopback) with one delivered delivery, in the current schema."""
    for n in range(padding):
        WebhookEndpoint.objects.create(url=f"http://127.0.0.1:9/{n}", secret_encrypted="-").delete()
    endpoint = WebhookEndpoint.objects.create(
        url="http://127.0.0.1:9/hook",
        event_types=["project.*"],
        secret_encrypted=secret_encrypt(secret_generate()),
        description=f"{slug} integration",
    )
    event = WebhookEvent.objects.create(
        msg_id=f"msg_{slug}_0001",
        type="project.created",
        data={"id": 1, "name": f"{slug} project"},
        created_at=timezone.now() - timedelta(hours=1),
    )
    for _n in range(padding):
        WebhookDelivery.objects.create(endpoint=endpoint, event=event).delete()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, status=DeliveryStatus.DELIVERED, attempts=1
    )
    return endpoint, delivery


def jwt_for(side: Side, user: User) -> str:
    role = Membership.objects.get(tenant=side.tenant, user=user).role
    return str(tenant_tokens_issue(user=user, tenant=side.tenant, role=role).access_token)


def refresh_for(side: Side, user: User) -> str:
    role = Membership.objects.get(tenant=side.tenant, user=user).role
    return str(tenant_tokens_issue(user=user, tenant=side.tenant, role=role))


def app_token(application: OAuthApplication, secret: str, scopes: str) -> str:
    """A client-credentials access token of `application` (acting as its creator)."""
    answer = client_credentials_token(App(application, secret), scope=scopes)
    return str(answer["access_token"])


def side_app_register(
    side: "Side", creator: User, scopes: list[str], *, by_role: str | None = None
) -> tuple[OAuthApplication, str]:
    """A client-credentials application of `side` registered by `creator`."""
    registered = oauth_application_create(
        tenant=side.tenant,
        user_id=creator.pk,
        by_role=by_role or Membership.objects.get(tenant=side.tenant, user=creator).role,
        name="machine client",
        grant_type=OAuthApplication.GRANT_CLIENT_CREDENTIALS,
        redirect_uris=[],
        scopes=scopes,
    )
    return registered.application, registered.client_secret


def world_build() -> World:
    """Both organizations, committed (so each test's transaction starts clean and rolls
    back to them), with no after-commit work (no Stripe customer, email or seat sync)."""
    if not Plan.objects.exists():
        catalog_seed_defaults()
    with transaction.atomic():
        plan = Plan.objects.get(code=settings.BILLING_SIGNUP_PLAN)
        open_plan_limits()
        world = World(acme=_side("acme"), beta=_side("beta"))
        plan.save()  # the plan as it was: each test opens it again in its own transaction
        connection.run_on_commit.clear()
    tenant_cache_invalidate()
    try:
        for side in (world.acme, world.beta):
            for role, user in side.users.items():
                side.tokens[role] = jwt_for(side, user)
            for name in (APP_READ, APP_ALL):
                side.tokens[name] = app_token(side.app, side.app_secret, name.split(":", 1)[1])
    except BaseException:
        world_demolish(world)
        raise
    return world


def world_demolish(world: World) -> None:
    sides = (world.acme, world.beta)
    tenants = [side.tenant.pk for side in sides]
    users = [user.pk for side in sides for user in (*side.users.values(), side.extra)]
    with transaction.atomic():
        OAuthApplication.objects.filter(tenant_id__in=tenants).delete()
        Membership.objects.filter(tenant_id__in=tenants).delete()
        Tenant.objects.filter(pk__in=tenants).delete()
        OutstandingToken.objects.filter(user_id__in=users).delete()
        User.objects.filter(pk__in=users).delete()
        connection.run_on_commit.clear()
    drop_tenant_schemas()
    tenant_cache_invalidate()


# ---- callers ----------------------------------------------------------------------------------

APP_READ = "app:read"
APP_ALL = "app:read write billing admin"
ANONYMOUS = "anonymous"
OTHER_TENANT = "other-tenant owner"
CALLERS = (*ROLES, ANONYMOUS, OTHER_TENANT, APP_READ, APP_ALL)


_HANDLER: dict[str, Any] = {}


def api_client(host: str, token: str | None = None, **defaults: Any) -> APIClient:
    """An APIClient on `host` (optionally with a bearer token) sharing one request handler:
    loading the middleware (WhiteNoise indexes every static file) costs ~100 ms, paid once
    per run instead of once per client. Tests that change settings the middleware reads
    at start make a plain APIClient instead."""
    client = APIClient(HTTP_HOST=host, **defaults)
    if "handler" not in _HANDLER:
        _HANDLER["handler"] = client.handler
    client.handler = _HANDLER["handler"]
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def caller_client(world: World, caller: str, side: Side | None = None) -> APIClient:
    """An API client on `side`'s host (acme by default) acting as `caller`."""
    side = side or world.acme
    if caller == OTHER_TENANT:
        return api_client(side.host, world.other(side).tokens[Role.OWNER])
    if caller == ANONYMOUS:
        return api_client(side.host)
    return api_client(side.host, side.tokens[caller])


def caller_capabilities(caller: str) -> frozenset[Capability]:
    """What `caller` may do on its own tenant: its role's capabilities, and for an
    application token those narrowed by its scopes (the application acts as its creator,
    the owner)."""
    if caller in ROLES:
        return capabilities_of(caller)
    if caller.startswith("app:"):
        scopes = caller.split(":", 1)[1].split()
        return capabilities_of(Role.OWNER) & capabilities_of_scopes(scopes)
    return frozenset()


def caller_user(world: World, caller: str) -> User | None:
    if caller in ROLES:
        return world.acme.users[caller]
    if caller.startswith("app:"):
        return world.acme.owner
    return None


# ---- requests ---------------------------------------------------------------------------------


def fill(route: Route, ids: dict[str, Any]) -> str:
    path = route.path
    for name in route.params:
        path = path.replace("{" + name + "}", str(ids[name]))
    return path


def valid_body(
    method: str, route: Route, side: Side, caller_user: User | None = None
) -> dict[str, Any] | None:
    """A body that this operation accepts from a caller allowed to call it."""
    name = route.name
    user = caller_user or side.owner
    bodies: dict[tuple[str, str | None], Callable[[], dict[str, Any] | None]] = {
        ("POST", "signup"): lambda: {
            "name": "Gamma",
            "slug": "gamma",
            "email": "owner@gamma.test",
            "password": NEW_PASSWORD,
        },
        ("POST", "auth-login"): lambda: {"email": user.email, "password": PASSWORD},
        ("POST", "auth-token-refresh"): lambda: {"refresh": refresh_for(side, user)},
        ("POST", "auth-logout"): lambda: {"refresh": refresh_for(side, user)},
        ("PATCH", "auth-user"): lambda: {"full_name": "Renamed Person"},
        ("POST", "auth-password-change"): lambda: {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
        ("POST", "auth-password-reset"): lambda: {"email": user.email},
        ("POST", "auth-password-reset-confirm"): lambda: reset_confirm_body(
            User.objects.get(pk=user.pk), side.tenant
        ),
        ("POST", "member-transfer-ownership"): lambda: {"user_id": side.extra.pk},
        ("PATCH", "member-detail"): lambda: {"role": Role.VIEWER},
        ("POST", "invitation-list"): lambda: {"email": "new.person@example.test", "role": "member"},
        ("POST", "invitation-accept"): lambda: {"password": NEW_PASSWORD},
        ("POST", "billing-preview-change"): lambda: {"price": "pro-monthly"},
        ("POST", "billing-change"): lambda: {"price": "pro-monthly"},
        ("POST", "billing-checkout"): lambda: {"price": "starter-monthly"},
        ("PATCH", "organization"): lambda: {"name": "Renamed Org"},
        ("POST", "project-list"): lambda: {"name": "New project"},
        ("PATCH", "project-detail"): lambda: {"name": "Renamed project"},
        ("POST", "task-list"): lambda: {"title": "New task"},
        ("PATCH", "task-detail"): lambda: {"title": "Renamed task"},
        ("POST", "oauth-application-list"): lambda: {
            "name": "Another app",
            "grant_type": "client-credentials",
            "scopes": ["read"],
        },
        ("PATCH", "oauth-application-detail"): lambda: {"name": "Renamed app"},
        ("POST", "auth-login-mfa"): lambda: mfa_login_body(side),
        ("POST", "auth-mfa-totp-confirm"): lambda: {"code": "123456"},
        ("POST", "auth-mfa-totp-remove"): lambda: {"password": PASSWORD},
        ("POST", "auth-mfa-recovery-codes-regenerate"): lambda: {"password": PASSWORD},
        ("PUT", "auth-mfa-policy"): lambda: {"require_for_admins": False},
        ("POST", "auth-mfa-webauthn-register"): lambda: {},
        ("POST", "auth-mfa-webauthn-register-complete"): lambda: {
            "name": "Key",
            "credential": {"id": "AA", "rawId": "AA", "type": "public-key", "response": {}},
        },
        ("PATCH", "auth-mfa-webauthn-key"): lambda: {"name": "Renamed key"},
        ("POST", "auth-mfa-webauthn-key-remove"): lambda: {"password": PASSWORD},
        ("POST", "domain-list"): lambda: {"hostname": "new.customer.test"},
        ("PUT", "sso-connection"): lambda: {
            "issuer": world_idp().issuer,
            "client_id": SsoConnection.objects.get(tenant=side.tenant).client_id,
            "domains": [f"{side.tenant.slug}.test"],
            "policy": "optional",
        },
        ("POST", "sso-token"): lambda: {"code": sso_code_for(side, user)},
        ("POST", "scim-token-list"): lambda: {"name": "Another IdP"},
        ("POST", "webhook-endpoint-list"): lambda: {
            "url": "http://127.0.0.1:9/new",
            "event_types": ["task.*"],
        },
        ("PATCH", "webhook-endpoint-detail"): lambda: {"description": "Renamed"},
        ("POST", "webhook-delivery-replay-range"): lambda: {
            "since": (timezone.now() - timedelta(days=1)).isoformat(),
            "until": timezone.now().isoformat(),
        },
        ("POST", "api-key-list"): lambda: {
            "name": "Another script",
            # A scope the caller's role can grant (a billing user's is billing).
            "scopes": sorted(scopes_grantable_by(_role_of(side, user)))[:1],
        },
        ("PATCH", "api-key-detail"): lambda: {"name": "Renamed script"},
        ("POST", "api-key-rotate"): lambda: {"overlap_seconds": 60},
    }
    make = bodies.get((method, name))
    return make() if make else None


def _role_of(side: Side, user: User) -> str:
    membership = Membership.objects.filter(tenant=side.tenant, user=user).first()
    return membership.role if membership else Role.OWNER


def mfa_login_body(side: Side) -> dict[str, str]:
    """The second step of a login on `side`'s host: a new member with a second factor (made
    in the test's transaction, so rolled back), their login's challenge and a recovery code."""
    user = make_member(side.tenant)
    TOTP.activate(user, generate_totp_secret())
    code = RecoveryCodes.activate(user).generate_codes()[0]
    started = login_start(tenant=side.tenant, email=user.email, password=PASSWORD)
    return {"mfa_token": started.challenge, "code": code}


def sso_code_for(side: Side, user: User) -> str:
    """A one-time code as an SSO callback hands it to the landing page, for `user`."""
    code = secrets.token_urlsafe(16)
    SsoLoginCode.objects.create(
        tenant=side.tenant,
        user=user,
        code_hash=token_hash(code),
        expires_at=timezone.now() + timedelta(minutes=1),
    )
    return code


def reset_confirm_body(user: User, tenant: Tenant) -> dict[str, str]:
    """What the emailed reset link carries (allauth's uid, and a token of `tenant`'s host, as
    the reset form makes them), with a new password."""
    from allauth.account.utils import user_pk_to_url_str

    return {
        "uid": user_pk_to_url_str(user),
        "token": TenantPasswordResetTokenGenerator(tenant_id=tenant.pk).make_token(user),
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
    }


def send(client: APIClient, method: str, path: str, body: Any = None, **extra: Any) -> Any:
    call = getattr(client, method.lower())
    if body is None:
        return call(path, **extra)
    return call(path, body, format="json", **extra)


def attempt(client: APIClient, method: str, path: str, body: Any = None, **extra: Any) -> Any:
    """`send`, with whatever the request writes rolled back afterwards."""
    with transaction.atomic():
        response = send(client, method, path, body, **extra)
        transaction.set_rollback(True)
    return response


def error_code(response: Any) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


# ---- production settings ----------------------------------------------------------------------

PRODUCTION_PROBE = """
import json
import django
django.setup()
from django.conf import settings
from django.db import transaction
from django.test import Client
from tenants.organizations import organization_open

PROBES = [
    ("public API", "localhost", "/api/v1/plans/"),
    ("public 404", "localhost", "/api/v1/nope/"),
    ("docs page", "localhost", "/api/docs/"),
    ("tenant 401", "probe-prod.localhost", "/api/v1/projects/"),
    ("tenant 404", "probe-prod.localhost", "/api/v1/nope/"),
    ("landing page", "probe-prod.localhost", "/billing"),
]
answers = {}
with transaction.atomic():  # the probe's organization is rolled back with everything else
    organization_open(name="Probe", slug="probe-prod")
    for name, host, path in PROBES:
        secure = Client(HTTP_HOST=host).get(path, secure=True)
        plain = Client(HTTP_HOST=host).get(path)
        answers[name] = {
            "status": secure.status_code,
            "headers": {k.lower(): v for k, v in secure.items()},
            "body": secure.content.decode(errors="replace")[:2000],
            "plain": plain.status_code,
            "location": plain.get("Location"),
            "path": path,
            "host": host,
        }
    transaction.set_rollback(True)
values = {
    "DEBUG": settings.DEBUG,
    "redirect_uri_schemes": settings.OAUTH2_PROVIDER["ALLOWED_REDIRECT_URI_SCHEMES"],
}
print(json.dumps({"answers": answers, "settings": values}))
"""


# ---- a listener that records connections (SSRF) -------------------------------------------


class ConnectionRecorder:
    """A TCP listener on loopback that accepts, records and closes every connection: any
    server-side fetch of a URL pointing here shows up in `connections`."""

    def __init__(self) -> None:
        self.connections: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(0.5)
                with contextlib.suppress(OSError):
                    self.connections.append(conn.recv(4096))

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=2)
        self._listener.close()
