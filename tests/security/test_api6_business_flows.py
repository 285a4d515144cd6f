"""OWASP API6:2023 Unrestricted Access to Sensitive Business Flows: a flow that is fine
once becomes harmful when automated or replayed (mass signups, invitation links that keep
working, password reset used to probe for accounts or to flood mailboxes).

What this product exposes: the flows anyone can start without an account (the table
below, from both URL maps), each protected by throttles, a signature or client
authentication; invitation links (single use, expiring, replaced by a re-invite, revocable,
bound to their organization); password reset (the same answer for every address, mail only
to this organization's members, single-use links that end every session). Probed here:

- the table covers every unauthenticated write of both hosts, and each throttled flow
  answers 429 with Retry-After once its rate is spent;
- invitation links: a re-invite revokes the old link (410), a used, expired or revoked link
  is 410, revoking twice is 409, accepting as an existing account needs its password, and a
  throttled client is refused even with a valid link;
- password reset: the same answer for this organization's member, another organization's,
  a deactivated account and an unknown address, mail only for the first, throttled per IP
  and per address, a link works once and revokes the account's refresh tokens;
- seats: an invitation beyond the plan's seats is 402, so invitations cannot be used to grow
  an organization past what it pays for.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

import accounts.services as account_services
from accounts.models import Invitation, Membership, Role, User
from billing.models import Plan
from tests.factories import PASSWORD, make_invitation, make_member
from tests.support.http import assert_error
from tests.support.owasp import (
    NEW_PASSWORD,
    Route,
    Side,
    World,
    api_client,
    attempt,
    caller_client,
    fill,
    operations,
    refresh_for,
    reset_confirm_body,
    routes,
    valid_body,
)

pytestmark = pytest.mark.django_db

# Every flow anyone may start, and what stands in its way. Throttled flows name their
# throttle scopes: per IP, and per account where the body names one (an email address).
SENSITIVE_FLOWS: dict[tuple[str, str], tuple[str, ...] | str] = {
    ("POST", "auth-login"): ("login_ip", "login_account"),
    ("POST", "auth-password-reset"): ("password_reset_ip", "password_reset_account"),
    ("POST", "auth-password-reset-confirm"): ("password_reset_ip",),
    ("POST", "invitation-accept"): ("invitations_ip",),
    # The login's second step: per IP here; wrong codes per challenge and per account in
    # accounts.mfa.services (tests/accounts/mfa/test_login.py).
    ("POST", "auth-login-mfa"): ("login_mfa_ip",),
    ("POST", "auth-token-refresh"): "a single-use refresh token (rotated, blacklisted)",
    # Single sign-on: each start stores a login state (short-lived, single use); the code
    # exchange trades a one-time code. Both throttled per IP with the login's rate.
    ("GET", "sso-login"): ("login_ip",),
    ("POST", "sso-token"): ("login_ip",),
    ("POST", "sso-saml-acs"): ("login_ip",),  # SAML's answer spends a login state
    # Signup is throttled per IP and per email domain: tests/tenants/test_signup_throttle.py.
    ("POST", "signup"): "throttled per IP and email domain",
    ("POST", "stripe-webhook"): "Stripe's signature over the raw body",
    ("POST", "login"): ("login_ip", "login_account"),  # /o/login/, the OAuth2 sign-in page
    ("POST", "token"): "OAuth2 client authentication",
    ("POST", "revoke-token"): "OAuth2 client authentication",
    ("POST", "introspect"): "OAuth2 client authentication",
    ("POST", "authorize"): "a signed-in session (/o/login/) and its CSRF token",
    ("POST", "logout"): "a signed-in session and its CSRF token",
}
THROTTLED_API_FLOWS = [
    (method, route)
    for method, route in operations("tenant")
    if isinstance(SENSITIVE_FLOWS.get((method, str(route.name))), tuple)
]
THROTTLES = [
    (method, route, scope)
    for method, route in THROTTLED_API_FLOWS
    for scope in SENSITIVE_FLOWS[(method, str(route.name))]
]


def _unauthenticated_writes() -> set[tuple[str, str]]:
    found = set()
    for host in ("public", "tenant"):
        for route in routes(host):
            if route.pattern.startswith("admin/"):
                continue  # the operator admin: staff sessions only (test_api5: public host)
            if route.is_docs:
                continue  # the API docs and Swagger UI's OAuth2 redirect: static pages
            view = route.view
            permissions = [p.__name__ for p in getattr(view, "permission_classes", [])]
            open_view = not hasattr(view, "permission_classes") or "AllowAny" in permissions
            authenticators = getattr(view, "authentication_classes", None)
            if authenticators is not None and not authenticators and hasattr(view, "post"):
                open_view = True
            if open_view and "POST" in route.methods:
                found.add(("POST", str(route.name)))
    return found


def test_every_flow_open_to_anyone_is_listed() -> None:
    found = _unauthenticated_writes()
    assert {("POST", "signup"), ("POST", "auth-login"), ("POST", "token")} <= found
    assert found <= set(SENSITIVE_FLOWS)


def test_throttled_flows_use_the_named_throttles() -> None:
    for method, route in THROTTLED_API_FLOWS:
        scopes = {getattr(t, "scope", None) for t in route.view.throttle_classes}
        assert set(SENSITIVE_FLOWS[(method, str(route.name))]) <= scopes, route.path


@pytest.mark.parametrize(
    ("method", "route", "scope"), THROTTLES, ids=lambda v: getattr(v, "path", str(v))
)
def test_each_throttled_flow_answers_429_with_retry_after(
    world: World, tight_rates: dict[str, Any], method: str, route: Route, scope: str
) -> None:
    for other in SENSITIVE_FLOWS[(method, str(route.name))]:
        tight_rates[other] = "1000/min"
    tight_rates[scope] = "2/min"
    scope_kind = scope.rsplit("_", 1)[1]
    client = api_client(world.acme.host)
    path = fill(route, world.acme.ids())
    body = valid_body(method, route, world.acme, world.acme.users[Role.MEMBER])
    statuses = []
    for n in range(3):
        ip = f"10.1.0.{n}" if scope_kind == "account" else "10.1.0.1"
        statuses.append(attempt(client, method, path, body, REMOTE_ADDR=ip))
    assert [r.status_code for r in statuses[:2] if r.status_code == 429] == []
    throttled = statuses[2]
    assert_error(throttled, 429, "rate_limited")
    assert int(throttled["Retry-After"]) >= 1


def test_the_oauth_sign_in_page_is_throttled(world: World, tight_rates: dict[str, Any]) -> None:
    tight_rates["login_account"] = "2/min"
    browser = api_client("localhost")
    form = {"username": world.acme.owner.email, "password": "Wrong-Horse-Battery-3"}
    codes = [browser.post("/o/login/", form).status_code for _ in range(3)]
    assert codes[2] == 429


# ---- invitations ------------------------------------------------------------------------------


@pytest.fixture
def outbox(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Emails the services would send, captured (no worker needed)."""
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(account_services, "email_send_later", lambda **kw: sent.append(kw))
    return sent


def _token(email: dict[str, Any]) -> str:
    return str(email["context"]["url"]).rsplit("/", 1)[1]


def _accept(side: Side, token: str, password: str = NEW_PASSWORD, **extra: Any) -> Any:
    return api_client(side.host).post(
        f"/api/v1/invitations/{token}/accept/", {"password": password}, format="json", **extra
    )


def test_a_reinvite_revokes_the_old_link(world: World, outbox: list[dict[str, Any]]) -> None:
    admin = caller_client(world, Role.ADMIN)
    for _ in range(2):
        sent = admin.post("/api/v1/invitations/", {"email": "twice@example.test"}, format="json")
        assert sent.status_code == 201
    first, second = (_token(email) for email in outbox)
    assert_error(_accept(world.acme, first), 410, "invitation_revoked")
    assert _accept(world.acme, second).status_code == 201
    assert_error(_accept(world.acme, second), 410, "invitation_used")


def test_expired_and_revoked_links_are_gone(world: World) -> None:
    side = world.acme
    expired = make_invitation(side.tenant, side.owner, "late@example.test")
    Invitation.objects.filter(email="late@example.test").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert_error(_accept(side, expired), 410, "invitation_expired")
    admin = caller_client(world, Role.ADMIN)
    revoke = f"/api/v1/invitations/{side.invitation.pk}/"
    assert admin.delete(revoke).status_code == 204
    assert_error(_accept(side, side.invitation_token), 410, "invitation_revoked")
    assert_error(admin.delete(revoke), 409, "invitation_not_pending")
    assert not User.objects.filter(email="late@example.test").exists()


def test_an_existing_account_joins_only_with_its_own_password(world: World) -> None:
    side = world.acme
    existing = world.beta.users[Role.MEMBER]
    token = make_invitation(side.tenant, side.owner, existing.email)
    assert_error(_accept(side, token, "Not-Their-Password-1"), 401, "invalid_credentials")
    assert Invitation.objects.get(tenant=side.tenant, email=existing.email).status == "pending"
    joined = _accept(side, token, PASSWORD)
    assert joined.status_code == 201, joined.content
    assert User.objects.get(pk=existing.pk).check_password(
        PASSWORD
    )  # accepting never resets the account's password


def test_a_throttled_client_is_refused_even_with_a_valid_link(
    world: World, tight_rates: dict[str, Any]
) -> None:
    tight_rates["invitations_ip"] = "3/min"
    side = world.acme
    for n in range(3):
        assert_error(_accept(side, f"guessed-token-{n:040d}"), 404, "invitation_not_found")
    assert_error(_accept(side, side.invitation_token), 429, "rate_limited")
    assert Invitation.objects.get(pk=side.invitation.pk).status == "pending"


def test_invitations_cannot_grow_an_organization_past_its_seats(world: World) -> None:
    seats = Membership.objects.filter(tenant=world.acme.tenant).count()
    pending = Invitation.objects.filter(tenant=world.acme.tenant, accepted_at=None).count()
    Plan.objects.filter(code=settings.BILLING_SIGNUP_PLAN).update(seats_limit=seats + pending)
    admin = caller_client(world, Role.ADMIN)
    refused = admin.post("/api/v1/invitations/", {"email": "one.more@example.test"}, format="json")
    assert_error(refused, 402, "entitlement_exceeded")


# ---- password reset ---------------------------------------------------------------------------


@pytest.fixture
def reset_outbox(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The reset mails password_reset_request queues (captured, not sent)."""
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(account_services, "email_send_later", lambda **kw: sent.append(kw))
    return sent


def _reset(side: Side, email: str, ip: str = "10.2.0.1") -> Any:
    return api_client(side.host).post(
        "/api/v1/auth/password/reset/", {"email": email}, format="json", REMOTE_ADDR=ip
    )


def test_password_reset_tells_nobody_whether_an_account_exists(
    world: World, reset_outbox: list[dict[str, Any]], loose_rates: Any
) -> None:
    side = world.acme
    deactivated = side.users[Role.VIEWER]
    User.objects.filter(pk=deactivated.pk).update(is_active=False)
    addresses = {
        "this organization's member": side.users[Role.MEMBER].email,
        "another organization's member": world.beta.owner.email,
        "deactivated account": deactivated.email,
        "unknown address": "nobody@nowhere.test",
    }
    answers = {}
    for name, email in addresses.items():
        response = _reset(side, email)
        answers[name] = (response.status_code, response.json())
    assert len({str(answer) for answer in answers.values()}) == 1, answers
    assert next(iter(answers.values()))[0] == 200
    assert [email["to"] for email in reset_outbox] == [side.users[Role.MEMBER].email]


def test_password_reset_is_throttled_per_ip_and_per_address(
    world: World, tight_rates: dict[str, Any], reset_outbox: list[dict[str, Any]]
) -> None:
    side = world.acme
    tight_rates.update(password_reset_ip="3/hour", password_reset_account="2/hour")
    target = side.users[Role.MEMBER].email
    per_address = [_reset(side, target, ip=f"10.3.0.{n}").status_code for n in range(3)]
    assert per_address == [200, 200, 429]
    per_ip = [_reset(side, f"someone{n}@x.test", ip="10.4.0.1") for n in range(4)]
    assert [r.status_code for r in per_ip] == [200, 200, 200, 429]
    assert int(per_ip[3]["Retry-After"]) > 0
    assert len(reset_outbox) == 2  # the flood did not become mail


def test_a_reset_link_works_once_and_ends_every_session(world: World, loose_rates: Any) -> None:
    side = world.acme
    user = side.users[Role.MEMBER]
    session = refresh_for(side, user)
    body = reset_confirm_body(User.objects.get(pk=user.pk), side.tenant)
    client = api_client(side.host)
    confirmed = client.post("/api/v1/auth/password/reset/confirm/", body, format="json")
    assert confirmed.status_code == 200, confirmed.content
    assert_error(client.post("/api/v1/auth/password/reset/confirm/", body, format="json"), 400)
    refreshed = client.post("/api/v1/auth/token/refresh/", {"refresh": session}, format="json")
    assert_error(refreshed, 401)
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)


def test_a_reset_link_works_only_on_its_organizations_host(world: World, loose_rates: Any) -> None:
    """A member of both organizations: acme's link does not reset on beta's host."""
    user = world.acme.users[Role.MEMBER]
    make_member(world.beta.tenant, Role.MEMBER, user=user)
    body = reset_confirm_body(User.objects.get(pk=user.pk), world.acme.tenant)
    on_beta = api_client(world.beta.host).post(
        "/api/v1/auth/password/reset/confirm/", body, format="json"
    )
    assert_error(on_beta, 400)
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)
    on_acme = api_client(world.acme.host).post(
        "/api/v1/auth/password/reset/confirm/", body, format="json"
    )
    assert on_acme.status_code == 200, on_acme.content


def test_the_table_names_real_routes() -> None:
    served = {
        (m, str(r.name)) for host in ("public", "tenant") for r in routes(host) for m in r.methods
    }
    assert set(SENSITIVE_FLOWS) <= served
