"""The SSO login, end to end with a real OIDC provider on loopback: our tenant host (a Django
test client) redirects to the provider, the provider's sign-in form (real HTTP) redirects
back, the callback exchanges the code over real HTTP and hands a one-time code to the
landing page, which gets the tenant-bound JWT pair. Every bad answer of a provider (or an
attacker) is a 4xx in the error format that provisions nobody."""

import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone

from accounts.mfa.models import MfaPolicy
from accounts.models import Membership, User
from accounts.sso.models import SsoConnection, SsoLoginCode, SsoLoginState
from billing.models import Plan
from saas.audit.models import AuditEntry
from tests.factories import PASSWORD, Org, client_for, make_invitation, make_member, make_user
from tests.support.domains import DnsServer
from tests.support.http import assert_error
from tests.support.oidc_idp import OidcProvider
from tests.support.sso import (
    callback_get,
    one_time_code,
    provider_round_trip,
    sso_configure,
    sso_domain_prove,
    sso_login,
)


@pytest.fixture
def pro(acme: Org, oidc_idp: OidcProvider, dns_server: DnsServer) -> Org:
    """acme on Pro, with single sign-on through `oidc_idp` for acme.test, proven by its TXT
    record (new people join as viewers)."""
    acme.on_plan("pro")
    assert sso_configure(acme, oidc_idp, default_role="viewer").status_code == 200
    sso_domain_prove(acme, dns_server)
    return acme


def _nobody(email: str) -> None:
    assert not User.objects.filter(email__iexact=email).exists()


def _exchange(client: Any, code: str) -> Any:
    return client.post("/api/v1/sso/token/", {"code": code}, format="json")


def test_a_new_person_is_provisioned_and_gets_the_tenant_bound_pair(
    pro: Org, beta: Org, oidc_idp: OidcProvider
) -> None:
    client = client_for(pro.tenant)
    start = client.get("/api/v1/sso/login/", {"email": "ada@acme.test"})
    assert start.status_code == 302
    authorize = parse_qs(urlsplit(start["Location"]).query)
    assert authorize["code_challenge_method"] == ["S256"]
    assert authorize["login_hint"] == ["ada@acme.test"]
    assert authorize["scope"] == ["openid email profile"]
    assert {"state", "nonce", "code_challenge"} <= set(authorize)
    stored = SsoLoginState.objects.get(tenant=pro.tenant)
    assert stored.state_hash != authorize["state"][0]  # only its hash is kept

    answer = callback_get(client, provider_round_trip(start, oidc_idp, "Ada@Acme.test"))
    assert answer["Location"].startswith(f"http://{pro.tenant.slug}.")
    code = one_time_code(answer)
    assert not SsoLoginState.objects.exists()  # spent

    ada = User.objects.get(email="ada@acme.test")
    assert not ada.has_usable_password()
    assert Membership.objects.get(user=ada, tenant=pro.tenant).role == "viewer"
    with pro.tenant:
        assert AuditEntry.objects.filter(action="member.added", target_id=str(ada.pk)).exists()

    assert_error(_exchange(client_for(beta.tenant), code), 401, "sso_code_invalid")
    tokens = _exchange(client, code)
    assert tokens.status_code == 200, tokens.content
    assert tokens["Cache-Control"] == "no-store"
    assert tokens.json()["user"]["email"] == "ada@acme.test"
    assert not SsoLoginCode.objects.exists()
    assert_error(_exchange(client, code), 401, "sso_code_invalid")  # once

    bearer = f"Bearer {tokens.json()['access']}"
    assert client.get("/api/v1/projects/", HTTP_AUTHORIZATION=bearer).status_code == 200
    elsewhere = client_for(beta.tenant).get("/api/v1/projects/", HTTP_AUTHORIZATION=bearer)
    assert_error(elsewhere, 401)
    refreshed = client.post(
        "/api/v1/auth/token/refresh/", {"refresh": tokens.json()["refresh"]}, format="json"
    )
    assert refreshed.status_code == 200


def test_an_existing_member_keeps_their_account_and_role(pro: Org, oidc_idp: OidcProvider) -> None:
    grace = make_user(email="grace@acme.test")
    make_member(pro.tenant, "admin", user=grace)
    client = client_for(pro.tenant)
    tokens = _exchange(client, one_time_code(sso_login(client, oidc_idp, "grace@acme.test")))
    assert tokens.status_code == 200
    assert tokens.json()["user"]["id"] == grace.pk
    assert Membership.objects.get(user=grace, tenant=pro.tenant).role == "admin"
    grace.refresh_from_db()
    assert grace.check_password(PASSWORD)  # untouched


def test_an_existing_account_of_another_organization_joins(
    pro: Org, beta: Org, oidc_idp: OidcProvider
) -> None:
    lin = make_member(beta.tenant, "member", user=make_user(email="lin@acme.test"))
    client = client_for(pro.tenant)
    tokens = _exchange(client, one_time_code(sso_login(client, oidc_idp, lin.email)))
    assert tokens.status_code == 200
    assert Membership.objects.get(user=lin, tenant=pro.tenant).role == "viewer"
    assert Membership.objects.get(user=lin, tenant=beta.tenant).role == "member"


BAD_TOKENS = [
    ("another issuer", {"iss": "https://evil.example"}, {}, 401, "sso_id_token_invalid"),
    ("another audience", {"aud": "someone-else"}, {}, 401, "sso_id_token_invalid"),
    (
        "expired",
        {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
        {},
        401,
        "sso_id_token_invalid",
    ),
    ("another nonce", {"nonce": "not-this-login"}, {}, 401, "sso_id_token_invalid"),
    ("no nonce", {"nonce": None}, {}, 401, "sso_id_token_invalid"),
    ("wrongly signed", {}, {"rogue": True}, 401, "sso_id_token_invalid"),
    ("unverified email", {"email_verified": False}, {}, 403, "sso_email_unverified"),
    ("no email_verified", {"email_verified": None}, {}, 403, "sso_email_unverified"),
    ("email outside the domains", {"email": "eve@evil.test"}, {}, 403, "sso_email_not_allowed"),
    ("no email", {"email": None}, {}, 403, "sso_email_missing"),
]


@pytest.mark.parametrize(
    ("claims", "provider", "status", "code"),
    [case[1:] for case in BAD_TOKENS],
    ids=[case[0] for case in BAD_TOKENS],
)
def test_a_bad_id_token_is_refused_and_provisions_nobody(
    pro: Org,
    oidc_idp: OidcProvider,
    claims: dict[str, Any],
    provider: dict[str, Any],
    status: int,
    code: str,
) -> None:
    oidc_idp.claims.update(claims)
    for name, value in provider.items():
        setattr(oidc_idp, name, value)
    members = Membership.objects.filter(tenant=pro.tenant).count()
    answer = sso_login(client_for(pro.tenant), oidc_idp, "mallory@acme.test")
    assert_error(answer, status, code)
    _nobody("mallory@acme.test")
    _nobody("eve@evil.test")
    assert Membership.objects.filter(tenant=pro.tenant).count() == members
    assert not SsoLoginCode.objects.exists()


def test_a_replayed_callback_is_refused(pro: Org, oidc_idp: OidcProvider) -> None:
    client = client_for(pro.tenant)
    start = client.get("/api/v1/sso/login/", {"email": "ada@acme.test"})
    callback = provider_round_trip(start, oidc_idp, "ada@acme.test")
    assert callback_get(client, callback).status_code == 302
    assert_error(callback_get(client, callback), 400, "sso_state_invalid")


def test_a_spent_code_with_a_fresh_state_is_refused_by_the_provider(
    pro: Org, oidc_idp: OidcProvider
) -> None:
    client = client_for(pro.tenant)
    first = provider_round_trip(client.get("/api/v1/sso/login/"), oidc_idp, "ada@acme.test")
    assert callback_get(client, first).status_code == 302
    spent_code = parse_qs(urlsplit(first).query)["code"][0]
    fresh = client.get("/api/v1/sso/login/")
    state = parse_qs(urlsplit(fresh["Location"]).query)["state"][0]
    replay = client.get("/api/v1/sso/callback/", {"state": state, "code": spent_code})
    assert_error(replay, 400, "sso_code_refused")


def test_an_expired_login_is_refused(pro: Org, oidc_idp: OidcProvider) -> None:
    client = client_for(pro.tenant)
    start = client.get("/api/v1/sso/login/", {"email": "ada@acme.test"})
    callback = provider_round_trip(start, oidc_idp, "ada@acme.test")
    SsoLoginState.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(callback_get(client, callback), 400, "sso_state_expired")
    _nobody("ada@acme.test")


def test_an_expired_one_time_code_is_refused(pro: Org, oidc_idp: OidcProvider) -> None:
    client = client_for(pro.tenant)
    code = one_time_code(sso_login(client, oidc_idp, "ada@acme.test"))
    SsoLoginCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(_exchange(client, code), 401, "sso_code_invalid")


def test_a_made_up_state_or_a_provider_error_is_400(pro: Org) -> None:
    client = client_for(pro.tenant)
    assert_error(
        client.get("/api/v1/sso/callback/", {"state": "x", "code": "y"}), 400, "sso_state_invalid"
    )
    assert_error(client.get("/api/v1/sso/callback/"), 400)
    start = client.get("/api/v1/sso/login/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    denied = client.get("/api/v1/sso/callback/", {"state": state, "error": "access_denied"})
    assert_error(denied, 400, "sso_denied")
    assert not SsoLoginState.objects.exists()


def test_acmes_login_cannot_finish_on_betas_host(
    pro: Org, beta: Org, oidc_idp: OidcProvider, other_idp: OidcProvider
) -> None:
    """beta has a connection of its own; what acme's provider answered (acme's state and
    code) brought to beta's host is refused, and so is a code of acme's provider presented
    with beta's own state (beta's provider does not know it)."""
    beta.on_plan("pro")
    assert sso_configure(beta, other_idp).status_code == 200
    acme_client, beta_client = client_for(pro.tenant), client_for(beta.tenant)
    callback = provider_round_trip(acme_client.get("/api/v1/sso/login/"), oidc_idp, "bob@beta.test")
    query = {k: v[-1] for k, v in parse_qs(urlsplit(callback).query).items()}
    assert_error(beta_client.get("/api/v1/sso/callback/", query), 400, "sso_state_invalid")

    beta_state = parse_qs(urlsplit(beta_client.get("/api/v1/sso/login/")["Location"]).query)
    crossed = {"state": beta_state["state"][0], "code": query["code"]}
    assert_error(beta_client.get("/api/v1/sso/callback/", crossed), 400, "sso_code_refused")
    _nobody("bob@beta.test")


def test_an_acme_domain_cannot_sign_in_on_beta(
    pro: Org, beta: Org, other_idp: OidcProvider, dns_server: DnsServer
) -> None:
    """beta's own provider vouching for an acme.test address: not one of beta's domains."""
    beta.on_plan("pro")
    assert sso_configure(beta, other_idp).status_code == 200
    sso_domain_prove(beta, dns_server)
    answer = sso_login(client_for(beta.tenant), other_idp, "beta@beta.test")
    assert answer.status_code == 302
    other_idp.claims["email"] = "ada@acme.test"
    forged = sso_login(client_for(beta.tenant), other_idp, "beta2@beta.test")
    assert_error(forged, 403, "sso_email_not_allowed")
    _nobody("ada@acme.test")


def test_login_start_refusals(pro: Org, beta: Org, oidc_idp: OidcProvider) -> None:
    client = client_for(pro.tenant)
    outside = client.get("/api/v1/sso/login/", {"email": "eve@evil.test"})
    assert_error(outside, 400, "sso_domain_not_covered")
    assert_error(client.get("/api/v1/sso/login/", {"email": "not-an-email"}), 400)
    assert_error(client_for(beta.tenant).get("/api/v1/sso/login/"), 404, "sso_not_configured")
    assert not SsoLoginState.objects.exists()
    pro.on_plan("starter")
    assert_error(client.get("/api/v1/sso/login/"), 402, "entitlement_exceeded")


def test_seats_are_counted_for_new_people(pro: Org, oidc_idp: OidcProvider) -> None:
    Plan.objects.filter(code="pro").update(seats_limit=1)
    answer = sso_login(client_for(pro.tenant), oidc_idp, "ada@acme.test")
    assert_error(answer, 402, "entitlement_exceeded")
    _nobody("ada@acme.test")


def _client_id(org: Org) -> str:
    return SsoConnection.objects.get(tenant=org.tenant).client_id


def _password_login(org: Org, email: str) -> Any:
    return client_for(org.tenant).post(
        "/api/v1/auth/login/", {"email": email, "password": PASSWORD}, format="json"
    )


def test_enforced_policy_refuses_password_login_except_the_owner(
    pro: Org, oidc_idp: OidcProvider
) -> None:
    pro.user.email = "owner@acme.test"
    pro.user.save()
    in_domain = make_member(pro.tenant, "admin", user=make_user(email="al@acme.test"))
    outside = make_member(pro.tenant, "member", user=make_user(email="cy@partner.test"))
    assert _password_login(pro, in_domain.email).status_code == 200  # optional: allowed

    body = {
        "issuer": oidc_idp.issuer,
        "client_id": _client_id(pro),
        "domains": ["acme.test"],
        "policy": "enforced",
    }
    assert pro.client.put("/api/v1/sso/", body, format="json").status_code == 200
    assert_error(_password_login(pro, in_domain.email), 403, "sso_required")
    assert_error(_password_login(pro, "AL@acme.test"), 403, "sso_required")
    assert _password_login(pro, outside.email).status_code == 200
    assert _password_login(pro, pro.user.email).status_code == 200  # break-glass
    # A wrong password is still the same 401 for everyone.
    wrong = client_for(pro.tenant).post(
        "/api/v1/auth/login/", {"email": in_domain.email, "password": "nope"}, format="json"
    )
    assert_error(wrong, 401, "invalid_credentials")


def test_a_client_asking_for_json_gets_the_addresses_in_bodies(
    pro: Org, oidc_idp: OidcProvider
) -> None:
    client = client_for(pro.tenant)
    started = client.get("/api/v1/sso/login/", HTTP_ACCEPT="application/json")
    assert started.status_code == 200
    location = started.json()["location"]
    assert location.startswith(oidc_idp.issuer + "/authorize?")
    params = {k: v[-1] for k, v in parse_qs(urlsplit(location).query).items()}
    back = requests.post(
        f"{oidc_idp.issuer}/authorize",
        data={**params, "email": "ada@acme.test"},
        allow_redirects=False,
        timeout=10,
    )
    callback = urlsplit(back.headers["Location"])
    landed = client.get(f"{callback.path}?{callback.query}", HTTP_ACCEPT="application/json")
    assert landed.status_code == 200
    code = urlsplit(landed.json()["location"]).fragment.removeprefix("code=")
    assert _exchange(client, code).status_code == 200


def test_a_deactivated_account_is_refused(pro: Org, oidc_idp: OidcProvider) -> None:
    make_user(email="gone@acme.test", is_active=False)
    answer = sso_login(client_for(pro.tenant), oidc_idp, "gone@acme.test")
    assert_error(answer, 403, "account_inactive")
    assert not Membership.objects.filter(user__email="gone@acme.test").exists()


def test_a_removed_member_who_signs_in_again_rejoins_with_the_default_role(
    pro: Org, oidc_idp: OidcProvider
) -> None:
    """The provider decides who may sign in (just-in-time provisioning): removing someone
    here without removing them at the provider lets them back in, as a new member."""
    kim = make_member(pro.tenant, "admin", user=make_user(email="kim@acme.test"))
    assert pro.client.delete(f"/api/v1/members/{kim.pk}/").status_code == 204
    client = client_for(pro.tenant)
    assert (
        _exchange(client, one_time_code(sso_login(client, oidc_idp, kim.email))).status_code == 200
    )
    assert Membership.objects.get(user=kim, tenant=pro.tenant).role == "viewer"


def test_a_single_sign_on_satisfies_the_mfa_policy_a_password_login_does_not(
    pro: Org, oidc_idp: OidcProvider
) -> None:
    """An admin under the organization's MFA policy: their password login is held back until
    they enroll a second factor; their sign-in through the organization's own provider is
    not (its factors are its administrators' business)."""
    MfaPolicy.objects.create(tenant=pro.tenant, require_for_admins=True)
    grace = make_member(pro.tenant, "admin", user=make_user(email="grace@acme.test"))
    by_password = _password_login(pro, grace.email)
    assert by_password.status_code == 200, by_password.content
    held = client_for(pro.tenant)
    held.credentials(HTTP_AUTHORIZATION=f"Bearer {by_password.json()['access']}")
    assert_error(held.get("/api/v1/projects/"), 403, "mfa_enrollment_required")

    client = client_for(pro.tenant)
    tokens = _exchange(client, one_time_code(sso_login(client, oidc_idp, grace.email)))
    assert tokens.status_code == 200, tokens.content
    signed_on = client_for(pro.tenant)
    signed_on.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access']}")
    assert signed_on.get("/api/v1/projects/").status_code == 200


def test_an_organization_that_loses_the_sso_feature_no_longer_enforces_it(
    pro: Org, oidc_idp: OidcProvider, beta: Org
) -> None:
    """After a downgrade the provider is out of reach (its login is 402), so an enforced
    policy would lock its domain's members out: they sign in with their password again
    until the organization is back on a plan with `sso`, when the policy holds again."""
    in_domain = make_member(pro.tenant, "admin", user=make_user(email="al@acme.test"))
    body = {
        "issuer": oidc_idp.issuer,
        "client_id": _client_id(pro),
        "domains": ["acme.test"],
        "policy": "enforced",
    }
    assert pro.client.put("/api/v1/sso/", body, format="json").status_code == 200
    assert_error(_password_login(pro, in_domain.email), 403, "sso_required")

    pro.on_plan("starter")
    assert_error(client_for(pro.tenant).get("/api/v1/sso/login/"), 402, "entitlement_exceeded")
    assert _password_login(pro, in_domain.email).status_code == 200
    invited = make_invitation(pro.tenant, pro.user, "bo@acme.test")
    accepted = client_for(pro.tenant).post(
        f"/api/v1/invitations/{invited}/accept/",
        {"password": "a-long-password-2026"},
        format="json",
    )
    assert accepted.status_code == 201, accepted.content

    pro.on_plan("pro")
    assert_error(_password_login(pro, in_domain.email), 403, "sso_required")
    # beta (on Free, no connection) never was affected.
    assert beta.client.get("/api/v1/projects/").status_code == 200
