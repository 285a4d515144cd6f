"""An organization requiring a second factor of its owners and admins: the plan's "sso"
feature, set by a caller logged in with one, audited; while on, an owner's or admin's session
without a second factor reaches only MFA setup, who-am-I and logout."""

import threading

import pytest
from django.db import connection

from accounts.models import OAuthApplication, Role
from saas.audit.models import AuditEntry
from tests.factories import Org, client_for, make_member
from tests.support.http import assert_error
from tests.support.mfa import (
    MFA,
    challenge,
    enroll,
    logged_in_with_mfa,
    login,
    login_mfa,
    totp_code,
)
from tests.support.oauth import client_credentials_token, user_token

pytestmark = pytest.mark.usefixtures("totp_clock", "loose_rates")
POLICY = f"{MFA}policy/"
ON = {"require_for_admins": True}
OFF = {"require_for_admins": False}


def _policy_on(org: Org) -> Org:
    """`org` on Pro, its owner enrolled and logged in with the code; the policy turned on."""
    org.on_plan("pro")
    enrolled = enroll(org.client)
    client = logged_in_with_mfa(org, totp_code(enrolled.secret))
    answer = client.put(POLICY, ON, format="json")
    assert answer.status_code == 200, answer.content
    return Org(org.tenant, org.user, client)


def test_off_by_default(acme):
    assert acme.client.get(POLICY).json() == OFF


def test_requiring_it_is_the_sso_feature(acme):
    enrolled = enroll(acme.client)
    client = logged_in_with_mfa(acme, totp_code(enrolled.secret))
    refused = client.put(POLICY, ON, format="json")
    error = assert_error(refused, 402, "entitlement_exceeded")
    assert "sso" in error["message"]
    assert client.get(POLICY).json() == OFF


def test_only_a_caller_logged_in_with_a_factor_may_require_it(acme):
    acme.on_plan("pro")
    assert_error(acme.client.put(POLICY, ON, format="json"), 409, "mfa_enrollment_required")
    assert acme.client.get(POLICY).json() == OFF


def test_owners_and_admins_only(acme):
    acme.on_plan("pro")
    member = acme.join(Role.MEMBER)
    assert_error(member.client.get(POLICY), 403)
    assert_error(member.client.put(POLICY, OFF, format="json"), 403)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"require_for_admins": "yes please"},
        {"require_for_admins": 0},
        {"require_for_admins": "true"},
        {**OFF, "x": 1},
    ],
)
def test_bad_bodies_are_400(acme, body):
    error = assert_error(acme.client.put(POLICY, body, format="json"), 400)
    assert set(error["fields"]) == set(body) - {"require_for_admins"} | (
        {"require_for_admins"} if body.get("require_for_admins") is not False else set()
    )


def test_turning_it_on_and_off_is_audited_and_off_needs_no_feature(acme):
    org = _policy_on(acme)
    assert org.client.get(POLICY).json() == ON
    org.on_plan("free")  # a downgrade: turning it off stays possible
    assert org.client.put(POLICY, OFF, format="json").json() == OFF
    with org.tenant:
        changes = [
            e.changes["require_for_admins"]
            for e in AuditEntry.objects.filter(action="mfa.policy_changed").order_by("id")
        ]
    assert changes == [{"before": False, "after": True}, {"before": True, "after": False}]


def test_an_admin_without_a_factor_reaches_only_setup_who_am_i_and_logout(acme, beta):
    org = _policy_on(acme)
    admin = org.join(Role.ADMIN)
    pair = login(client_for(org.tenant), admin.user.email).json()
    admin.client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")

    for method, path in [
        ("get", "/api/v1/projects/"),
        ("get", "/api/v1/members/"),
        ("get", "/api/v1/organization/"),
        ("get", POLICY),
        ("patch", "/api/v1/auth/user/"),
        ("post", "/api/v1/auth/password/change/"),
    ]:
        assert_error(
            getattr(admin.client, method)(path, {}, format="json"), 403, "mfa_enrollment_required"
        )
    assert admin.client.get("/api/v1/auth/user/").status_code == 200
    status = admin.client.get(MFA).json()
    assert status["required_by_policy"] is True
    assert status["logged_in_with_mfa"] is False

    # It complies: sets up a factor, logs in again with it, and is let through.
    enrolled = enroll(admin.client)
    assert_error(admin.client.get("/api/v1/projects/"), 403, "mfa_enrollment_required")
    with_mfa = logged_in_with_mfa(admin, totp_code(enrolled.secret))
    assert with_mfa.get("/api/v1/projects/").status_code == 200
    # And cannot remove the factor while the policy holds.
    refused = with_mfa.post(
        f"{MFA}totp/remove/", {"password": "correct-horse-battery"}, format="json"
    )
    assert_error(refused, 409, "mfa_required_by_policy")

    logout = admin.client.post("/api/v1/auth/logout/", {"refresh": pair["refresh"]}, format="json")
    assert logout.status_code == 200


def test_members_and_other_organizations_are_not_held_back(acme, beta):
    org = _policy_on(acme)
    member = org.join(Role.MEMBER)
    pair = login(client_for(org.tenant), member.user.email).json()
    member.client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert member.client.get("/api/v1/projects/").status_code == 200

    # beta's owner, an admin of acme too: only acme's sessions are held back.
    admin = Org(org.tenant, beta.user, client_for(org.tenant))
    make_member(org.tenant, Role.ADMIN, user=beta.user)
    on_acme = login(client_for(org.tenant), beta.user.email).json()
    admin.client.credentials(HTTP_AUTHORIZATION=f"Bearer {on_acme['access']}")
    assert_error(admin.client.get("/api/v1/projects/"), 403, "mfa_enrollment_required")
    on_beta = login(client_for(beta.tenant), beta.user.email).json()
    beta_client = client_for(beta.tenant)
    beta_client.credentials(HTTP_AUTHORIZATION=f"Bearer {on_beta['access']}")
    assert beta_client.get("/api/v1/projects/").status_code == 200


def test_a_refreshed_password_only_pair_is_still_held_back(acme):
    org = _policy_on(acme)
    admin = org.join(Role.ADMIN)
    pair = login(client_for(org.tenant), admin.user.email).json()
    refreshed = client_for(org.tenant).post(
        "/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json"
    )
    client = client_for(org.tenant)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert_error(client.get("/api/v1/projects/"), 403, "mfa_enrollment_required")


def test_an_application_acting_for_an_admin_without_a_factor_is_held_back(acme, beta, register_app):
    """An OAuth2 token a person gave an application acts with their role: the policy holds it
    back like their own session until they have a second factor (the sign-in page asks for
    it from then on). A machine client (client credentials) is no person's login and is
    limited by its scopes instead."""
    org = _policy_on(acme)
    admin = org.join(Role.ADMIN)
    app = register_app(
        org.tenant, org.user, grant_type=OAuthApplication.GRANT_AUTHORIZATION_CODE, scopes=("read",)
    )
    token = user_token(app, admin.user)
    api = client_for(org.tenant)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_error(api.get("/api/v1/projects/"), 403, "mfa_enrollment_required")
    # The owner, who has a factor, is not held back; nor is a plain member.
    owner_api = client_for(org.tenant)
    owner_api.credentials(HTTP_AUTHORIZATION=f"Bearer {user_token(app, org.user)}")
    assert owner_api.get("/api/v1/projects/").status_code == 200
    member_api = client_for(org.tenant)
    member_api.credentials(HTTP_AUTHORIZATION=f"Bearer {user_token(app, org.join().user)}")
    assert member_api.get("/api/v1/projects/").status_code == 200
    # Once the admin has a factor, the application's token is let through.
    enroll(admin.client)
    assert api.get("/api/v1/projects/").status_code == 200
    # A machine client of the organization is not held back.
    machine = register_app(org.tenant, org.user, scopes=("read",))
    machine_api = client_for(org.tenant)
    machine_api.credentials(
        HTTP_AUTHORIZATION=f"Bearer {client_credentials_token(machine)['access_token']}"
    )
    assert machine_api.get("/api/v1/projects/").status_code == 200
    # Another organization without the policy: its admin's application token works.
    beta.on_plan("pro")
    beta_app = register_app(
        beta.tenant, beta.user, grant_type=OAuthApplication.GRANT_AUTHORIZATION_CODE
    )
    beta_admin = beta.join(Role.ADMIN)
    beta_api = client_for(beta.tenant)
    beta_api.credentials(HTTP_AUTHORIZATION=f"Bearer {user_token(beta_app, beta_admin.user)}")
    assert beta_api.get("/api/v1/projects/").status_code == 200


def test_turning_it_off_lets_them_through_at_the_next_request(acme):
    org = _policy_on(acme)
    admin = org.join(Role.ADMIN)
    assert_error(admin.client.get("/api/v1/projects/"), 403, "mfa_enrollment_required")
    assert org.client.put(POLICY, OFF, format="json").status_code == 200
    assert admin.client.get("/api/v1/projects/").status_code == 200


def test_two_concurrent_requests_turn_it_on_once(committed, make_org, totp_clock, loose_rates):
    org = make_org("acme").on_plan("pro")
    enrolled = enroll(org.client)
    pair = login_mfa(client_for(org.tenant), challenge(org), totp_code(enrolled.secret)).json()
    token = f"Bearer {pair['access']}"
    results: list[int] = []
    barrier = threading.Barrier(2)

    def put() -> None:
        other = client_for(org.tenant)
        other.credentials(HTTP_AUTHORIZATION=token)
        barrier.wait()
        results.append(other.put(POLICY, ON, format="json").status_code)
        connection.close()

    threads = [threading.Thread(target=put) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200, 200]
    with org.tenant:
        assert AuditEntry.objects.filter(action="mfa.policy_changed").count() == 1
