"""Invitations when the organization enforces single sign-on: an invitee whose email is in one
of its verified SSO domains gets no password path (accepting is 403 `sso_required`, naming the
login that joins them); signing in through the provider completes the invitation, with its
role. Everyone else (a contractor's gmail address, a domain not proven, an optional policy,
another organization's domain) joins with a password as before."""

from typing import Any

import pytest

from accounts.models import Invitation, Membership, User
from saas.audit.models import AuditEntry
from tests.factories import PASSWORD, Org, client_for, make_invitation, make_member, make_user
from tests.support.domains import DnsServer
from tests.support.http import assert_error
from tests.support.oidc_idp import OidcProvider
from tests.support.sso import one_time_code, sso_configure, sso_domain_prove, sso_login

NEW_PASSWORD = "a-fresh-long-passphrase-2026"


@pytest.fixture
def enforced(acme: Org, oidc_idp: OidcProvider, dns_server: DnsServer) -> Org:
    """acme on Pro, enforcing single sign-on for acme.test, proven (new people: viewers)."""
    acme.on_plan("pro")
    configured = sso_configure(acme, oidc_idp, policy="enforced", default_role="viewer")
    assert configured.status_code == 200
    sso_domain_prove(acme, dns_server)
    return acme


def _accept(org: Org, token: str, password: str = NEW_PASSWORD) -> Any:
    return client_for(org.tenant).post(
        f"/api/v1/invitations/{token}/accept/", {"password": password}, format="json"
    )


def _invitation(org: Org, email: str) -> Invitation:
    return Invitation.objects.get(tenant=org.tenant, email=email)


def test_an_sso_domain_invitee_joins_through_the_provider_with_the_invitations_role(
    enforced: Org, oidc_idp: OidcProvider
) -> None:
    token = make_invitation(enforced.tenant, enforced.user, "ada@acme.test", role="admin")
    refused = assert_error(_accept(enforced, token), 403, "sso_required")
    assert refused["login_url"] == "/api/v1/sso/login/?email=ada%40acme.test"
    assert refused["login_url"] in refused["message"]
    assert not User.objects.filter(email="ada@acme.test").exists()  # no password was set
    assert _invitation(enforced, "ada@acme.test").status == "pending"

    client = client_for(enforced.tenant)
    code = one_time_code(sso_login(client, oidc_idp, "ada@acme.test"))
    tokens = client.post("/api/v1/sso/token/", {"code": code}, format="json")
    assert tokens.status_code == 200, tokens.content
    ada = User.objects.get(email="ada@acme.test")
    assert not ada.has_usable_password()
    # The invitation's role, not the connection's default (viewer); the invitation is spent.
    assert Membership.objects.get(user=ada, tenant=enforced.tenant).role == "admin"
    invitation = _invitation(enforced, "ada@acme.test")
    assert invitation.status == "accepted"
    with enforced.tenant:
        accepted = AuditEntry.objects.get(action="invitation.accepted")
    assert (accepted.actor_id, accepted.target_id) == (ada.pk, str(invitation.pk))
    assert_error(_accept(enforced, token), 410, "invitation_used")


def test_an_existing_account_in_the_domain_is_sent_to_the_provider_too(
    enforced: Org, beta: Org
) -> None:
    lin = make_member(beta.tenant, "member", user=make_user(email="lin@acme.test"))
    token = make_invitation(enforced.tenant, enforced.user, lin.email)
    assert_error(_accept(enforced, token, password=PASSWORD), 403, "sso_required")
    assert not Membership.objects.filter(user=lin, tenant=enforced.tenant).exists()
    lin.refresh_from_db()
    assert lin.check_password(PASSWORD)


def test_a_contractor_outside_the_domains_joins_with_a_password(enforced: Org) -> None:
    token = make_invitation(enforced.tenant, enforced.user, "cy@gmail.com")
    joined = _accept(enforced, token)
    assert joined.status_code == 201, joined.content
    assert "access" in joined.json()
    cy = User.objects.get(email="cy@gmail.com")
    assert cy.check_password(NEW_PASSWORD)
    login = client_for(enforced.tenant).post(
        "/api/v1/auth/login/", {"email": cy.email, "password": NEW_PASSWORD}, format="json"
    )
    assert login.status_code == 200


def test_an_unproven_domain_does_not_change_invitations(acme: Org, oidc_idp: OidcProvider) -> None:
    acme.on_plan("pro")
    assert sso_configure(acme, oidc_idp, policy="enforced").status_code == 200
    token = make_invitation(acme.tenant, acme.user, "ada@acme.test")
    assert _accept(acme, token).status_code == 201
    assert User.objects.get(email="ada@acme.test").check_password(NEW_PASSWORD)


def test_an_optional_policy_does_not_change_invitations(
    acme: Org, oidc_idp: OidcProvider, dns_server: DnsServer
) -> None:
    acme.on_plan("pro")
    assert sso_configure(acme, oidc_idp, policy="optional").status_code == 200
    sso_domain_prove(acme, dns_server)
    token = make_invitation(acme.tenant, acme.user, "ada@acme.test")
    assert _accept(acme, token).status_code == 201


def test_another_organizations_enforced_domain_does_not_apply_here(
    acme: Org, beta: Org, other_idp: OidcProvider, dns_server: DnsServer
) -> None:
    """beta enforces single sign-on for beta.test; acme invites a beta.test address: acme has
    no say over it, and joins them with a password."""
    beta.on_plan("pro")
    assert sso_configure(beta, other_idp, policy="enforced").status_code == 200
    sso_domain_prove(beta, dns_server)
    token = make_invitation(acme.tenant, acme.user, "bo@beta.test")
    assert _accept(acme, token).status_code == 201
    assert Membership.objects.filter(tenant=acme.tenant, user__email="bo@beta.test").exists()


def test_the_owner_keeps_password_login(enforced: Org) -> None:
    enforced.user.email = "owner@acme.test"
    enforced.user.save()
    login = client_for(enforced.tenant).post(
        "/api/v1/auth/login/", {"email": "owner@acme.test", "password": PASSWORD}, format="json"
    )
    assert login.status_code == 200
