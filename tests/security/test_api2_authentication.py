"""OWASP API2:2023 Broken Authentication: weak credentials handling lets an attacker act as
someone else (forged or replayed tokens, credential stuffing, account enumeration).

What this product exposes: `POST /api/v1/auth/login/` on a tenant host issues simplejwt
access/refresh pairs (HS256 pinned, claims `tid` and `role`) to members of that
organization only; every tenant endpoint takes those JWTs or OAuth2 access tokens
(django-oauth-toolkit, client credentials or authorization code) and re-checks the
membership on every request (accounts.access). Probed here:

- forged and misused JWTs for every role (alg `none`, HS256 with another key, HS512 with
  the right key, signed with SECRET_KEY, expired, without `exp`, a refresh token as an
  access token, a tampered `tid`/`role`/`sub`, another tenant's token, a removed member's
  or a deactivated user's token, garbage, Basic credentials, a token in the query string):
  401 on every authenticated operation of the URL map;
- OAuth2 access tokens that were revoked, expired, whose application was deleted or whose
  creator left: 401;
- login answers the same for an unknown email, a wrong password, another organization's
  member and a deactivated account, and its tokens carry this tenant and the real role;
- refresh tokens rotate (a used one is refused) and an access token is no refresh token;
- changing the password needs the old one.

Logout revocation and Cache-Control on token answers are covered by their own fixes.
"""

import base64
import json
import time
import warnings
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from accounts.access import member_access_forget
from accounts.apikeys.models import ApiKey
from accounts.apikeys.services import api_key_create
from accounts.models import Membership, Role, User
from accounts.scopes import SCOPES
from tests.factories import PASSWORD
from tests.support.http import assert_error
from tests.support.oauth import App, form_post
from tests.support.owasp import (
    APP_READ,
    NEW_PASSWORD,
    ROLES,
    Side,
    World,
    api_client,
    app_token,
    error_code,
    fill,
    is_credential_operation,
    operations,
    refresh_for,
    send,
    side_app_register,
    valid_body,
)

pytestmark = pytest.mark.django_db

AUTHENTICATED = [(m, r) for m, r in operations("tenant") if not is_credential_operation(m, r)]
ANY_CREDENTIAL = "/api/v1/auth/user/"  # any valid credential of the tenant reads it


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def _sign(claims: dict[str, Any], key: str = "", algorithm: str = "HS256") -> str:
    with warnings.catch_warnings():  # PyJWT warns that our key is short for HS512: it is
        warnings.simplefilter("ignore")
        return jwt.encode(claims, key or settings.JWT_SIGNING_KEY, algorithm=algorithm)


def _tampered(token: str, **changes: Any) -> str:
    """The token with its payload changed and its signature kept."""
    header, _, signature = token.split(".")
    return f"{header}.{_b64({**_claims(token), **changes})}.{signature}"


# Each forgery: (world, side, user) -> the Authorization header value.
Forgery = Callable[[World, Side, User], str]


def _access(world: World, side: Side, user: User) -> str:
    return side.tokens[Membership.objects.get(tenant=side.tenant, user=user).role]


def _remove_member(world: World, side: Side, user: User) -> str:
    token = _access(world, side, user)
    Membership.objects.filter(tenant=side.tenant, user=user).delete()
    member_access_forget(user_id=user.pk, tenant_ids=[side.tenant.pk])
    return f"Bearer {token}"


def _deactivate(world: World, side: Side, user: User) -> str:
    token = _access(world, side, user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    member_access_forget(user_id=user.pk, tenant_ids=[side.tenant.pk])
    return f"Bearer {token}"


FORGERIES: dict[str, Forgery] = {
    "alg none": lambda w, s, u: (
        "Bearer " + f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(_access(w, s, u)))}."
    ),
    "HS256 with another key": lambda w, s, u: (
        "Bearer " + _sign(_claims(_access(w, s, u)), key="another-key-of-at-least-32-bytes-xx")
    ),
    "HS512 with the right key": lambda w, s, u: (
        "Bearer " + _sign(_claims(_access(w, s, u)), algorithm="HS512")
    ),
    "signed with SECRET_KEY": lambda w, s, u: (
        "Bearer " + _sign(_claims(_access(w, s, u)), key=settings.SECRET_KEY)
    ),
    "expired": lambda w, s, u: (
        "Bearer " + _sign({**_claims(_access(w, s, u)), "exp": int(time.time()) - 5})
    ),
    "no exp claim": lambda w, s, u: (
        "Bearer " + _sign({k: v for k, v in _claims(_access(w, s, u)).items() if k != "exp"})
    ),
    "refresh token as access": lambda w, s, u: f"Bearer {refresh_for(s, u)}",
    "tid tampered to this tenant": lambda w, s, u: (
        "Bearer "
        + _tampered(_access(w, w.other(s), w.other(s).users[_role(s, u)]), tid=s.tenant.pk)
    ),
    "role tampered": lambda w, s, u: (
        "Bearer " + _tampered(_access(w, s, u), role="admin" if u == s.owner else "owner")
    ),
    "sub tampered": lambda w, s, u: (
        "Bearer " + _tampered(_access(w, s, u), sub=str((s.extra if u == s.owner else s.owner).pk))
    ),
    "another tenant's token": lambda w, s, u: (
        "Bearer " + _access(w, w.other(s), w.other(s).users[_role(s, u)])
    ),
    "removed member": _remove_member,
    "deactivated user": _deactivate,
    "garbage": lambda w, s, u: "Bearer not-a-token",
    "empty bearer": lambda w, s, u: "Bearer ",
    "basic credentials": lambda w, s, u: (
        "Basic " + base64.b64encode(f"{u.email}:{PASSWORD}".encode()).decode()
    ),
}


def _role(side: Side, user: User) -> str:
    return Membership.objects.get(tenant=side.tenant, user=user).role


def _assert_401(response: Any, what: str) -> None:
    assert response.status_code == 401, (what, response.status_code, response.content[:200])
    assert response["WWW-Authenticate"], what
    assert_error(response, 401)


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_and_misused_jwts_are_refused_for_every_role(world: World, forgery: str) -> None:
    side = world.acme
    for role in ROLES:
        header = FORGERIES[forgery](world, side, side.users[role])
        response = api_client(side.host).get(ANY_CREDENTIAL, HTTP_AUTHORIZATION=header)
        _assert_401(response, role)


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_and_misused_jwts_are_refused_on_every_operation(world: World, forgery: str) -> None:
    """The owner's token (the most privileged), forged, against the whole URL map."""
    side = world.acme
    bodies = [valid_body(method, route, side) for method, route in AUTHENTICATED]
    header = FORGERIES[forgery](world, side, side.owner)
    client = api_client(side.host, HTTP_AUTHORIZATION=header)
    wrong = {}
    for (method, route), body in zip(AUTHENTICATED, bodies, strict=True):
        response = send(client, method, fill(route, side.ids()), body)
        if response.status_code != 401:
            wrong[f"{method} {route.path}"] = response.status_code
    assert wrong == {}


def test_a_token_in_the_query_string_is_not_a_credential(world: World) -> None:
    token = world.acme.tokens[Role.OWNER]
    client = api_client(world.acme.host)
    for path in (f"{ANY_CREDENTIAL}?access_token={token}", f"/api/v1/projects/?token={token}"):
        assert_error(client.get(path), 401, "not_authenticated")


# ---- API keys (accounts.apikeys) --------------------------------------------------------------


def _owner_key(side: Side, **changes: Any) -> str:
    made = api_key_create(
        tenant=side.tenant,
        user_id=side.owner.pk,
        by_role=Role.OWNER,
        name="probe",
        scopes=list(SCOPES),
    )
    if changes:
        ApiKey.objects.filter(pk=made.key.pk).update(**changes)
    return made.raw


KEY_MISUSES: dict[str, Callable[[World], str]] = {
    "another organization's key": lambda world: _owner_key(world.beta),
    "revoked": lambda world: _owner_key(world.acme, revoked_at=timezone.now()),
    "expired": lambda world: _owner_key(world.acme, expires_at=timezone.now()),
    "retired after rotation": lambda world: _owner_key(world.acme, retires_at=timezone.now()),
    "truncated": lambda world: _owner_key(world.acme)[:-1],
    "unknown": lambda world: "sk_test_" + "0" * 43,
}


@pytest.mark.parametrize("misuse", list(KEY_MISUSES))
def test_misused_api_keys_are_refused_on_every_operation(world: World, misuse: str) -> None:
    """The owner's key with every scope (the most it can be), misused, against the whole URL
    map: 401, and the same answer as for a key that never existed."""
    side = world.acme
    bodies = [valid_body(method, route, side) for method, route in AUTHENTICATED]
    client = api_client(side.host, KEY_MISUSES[misuse](world))
    wrong = {}
    for (method, route), body in zip(AUTHENTICATED, bodies, strict=True):
        response = send(client, method, fill(route, side.ids()), body)
        if (response.status_code, error_code(response)) != (401, "api_key_invalid"):
            wrong[f"{method} {route.path}"] = response.status_code
    assert wrong == {}


# ---- OAuth2 access tokens ---------------------------------------------------------------------


def test_revoked_expired_and_orphaned_oauth_tokens_are_refused(world: World) -> None:
    side = world.acme
    client = api_client(side.host, side.tokens[APP_READ])
    assert client.get("/api/v1/projects/").status_code == 200
    # Revoked by its client.
    revoked = form_post(
        api_client("localhost"),
        "/o/revoke_token/",
        {"token": side.tokens[APP_READ]},
        HTTP_AUTHORIZATION=App(side.app, side.app_secret).basic,
    )
    assert revoked.status_code == 200
    assert_error(client.get("/api/v1/projects/"), 401)
    # Expired.
    application, secret = side_app_register(side, side.owner, ["read"])
    token = app_token(application, secret, "read")
    get_access_token_model().objects.filter(application=application).update(
        expires=timezone.now() - timedelta(seconds=1)
    )
    assert_error(api_client(side.host, token).get("/api/v1/projects/"), 401)
    # Its application deleted.
    application, secret = side_app_register(side, side.owner, ["read"])
    token = app_token(application, secret, "read")
    application.delete()
    assert_error(api_client(side.host, token).get("/api/v1/projects/"), 401)


def test_a_machine_clients_token_dies_with_its_creators_membership(world: World) -> None:
    side = world.acme
    admin = side.users[Role.ADMIN]
    application, secret = side_app_register(side, admin, ["read"])
    token = app_token(application, secret, "read")
    client = api_client(side.host, token)
    assert client.get("/api/v1/projects/").status_code == 200
    Membership.objects.filter(tenant=side.tenant, user=admin).delete()
    member_access_forget(user_id=admin.pk, tenant_ids=[side.tenant.pk])
    assert_error(client.get("/api/v1/projects/"), 401)


# ---- login ----------------------------------------------------------------------------------


def _login(side: Side, email: str, password: str) -> Any:
    return api_client(side.host).post(
        "/api/v1/auth/login/", {"email": email, "password": password}, format="json"
    )


def _without_request_id(response: Any) -> tuple[int, dict[str, Any]]:
    body = response.json()
    body["error"].pop("request_id", None)
    return response.status_code, body


def test_login_answers_the_same_whatever_was_wrong(world: World) -> None:
    side = world.acme
    member = side.users[Role.MEMBER]
    User.objects.filter(pk=side.users[Role.VIEWER].pk).update(is_active=False)
    attempts = {
        "unknown email": ("nobody@acme.test", PASSWORD),
        "wrong password": (member.email, "Wrong-Horse-Battery-1"),
        "another organization's member": (world.beta.owner.email, PASSWORD),
        "deactivated account": (side.users[Role.VIEWER].email, PASSWORD),
        "email in other case, wrong password": (member.email.upper(), "Wrong-Horse-2"),
    }
    answers = {name: _without_request_id(_login(side, *creds)) for name, creds in attempts.items()}
    assert len({json.dumps(answer, sort_keys=True) for answer in answers.values()}) == 1, answers
    status, body = next(iter(answers.values()))
    assert status == 401
    assert body["error"]["code"] == "invalid_credentials"


@pytest.mark.parametrize("role", ROLES)
def test_login_issues_tokens_for_this_tenant_and_the_real_role(world: World, role: str) -> None:
    side = world.acme
    response = _login(side, side.users[role].email, PASSWORD)
    assert response.status_code == 200, response.content
    access = response.json()["access"]
    claims = _claims(access)
    assert claims["tid"] == side.tenant.pk
    assert claims["role"] == role
    assert jwt.get_unverified_header(access)["alg"] == "HS256"
    assert api_client(side.host, access).get(ANY_CREDENTIAL).status_code == 200
    assert_error(api_client(world.beta.host, access).get(ANY_CREDENTIAL), 401)
    assert api_client("localhost").post("/api/v1/auth/login/", {}).status_code == 404


# ---- refresh and password --------------------------------------------------------------------


def _refresh(side: Side, token: str) -> Any:
    return api_client(side.host).post(
        "/api/v1/auth/token/refresh/", {"refresh": token}, format="json"
    )


def test_refresh_tokens_rotate_and_access_tokens_are_not_refresh_tokens(world: World) -> None:
    side = world.acme
    refresh = refresh_for(side, side.users[Role.MEMBER])
    rotated = _refresh(side, refresh)
    assert rotated.status_code == 200, rotated.content
    assert_error(_refresh(side, refresh), 401)  # spent
    assert _refresh(side, rotated.json()["refresh"]).status_code == 200
    assert_error(_refresh(side, side.tokens[Role.MEMBER]), 401)  # an access token
    removed = refresh_for(side, side.extra)
    Membership.objects.filter(tenant=side.tenant, user=side.extra).delete()
    assert_error(_refresh(side, removed), 401)


def test_changing_the_password_needs_the_old_one(world: World) -> None:
    side = world.acme
    user = side.users[Role.MEMBER]
    client = api_client(side.host, side.tokens[Role.MEMBER])
    body = {"old_password": "Not-The-Old-One-1", "new_password1": NEW_PASSWORD}
    body["new_password2"] = NEW_PASSWORD
    refused = client.post("/api/v1/auth/password/change/", body, format="json")
    assert_error(refused, 400)
    assert "old_password" in refused.json()["error"]["fields"]
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


def test_every_tenant_operation_needs_a_credential(world: World) -> None:
    """Anonymous: 401 on each authenticated operation (the credential operations, which take
    their credential in the body or path, are probed in test_api6)."""
    client = api_client(world.acme.host)
    answers = {
        f"{method} {route.path}": send(client, method, fill(route, world.acme.ids())).status_code
        for method, route in AUTHENTICATED
    }
    assert {op: status for op, status in answers.items() if status != 401} == {}
