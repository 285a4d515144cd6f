"""Plan entitlements enforced locally: projects, seats (inviting and accepting) and features
are allowed up to the limit and refused one beyond it with 402 entitlement_exceeded; the
entitlements endpoint shows limits and usage, per tenant."""

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from accounts.models import Invitation, Membership, Role
from billing.models import BillingAccount, Plan
from billing.services.entitlements import KNOWN_FEATURES
from saas.workspace.models import Project
from tests.factories import PASSWORD
from tests.support.http import access_token

URL = "/api/v1/billing/entitlements/"


def plan_limits(code: str = "free", **limits: object) -> Plan:
    plan = Plan.objects.get(code=code)
    for name, value in limits.items():
        setattr(plan, name, value)
    plan.save()
    return plan


def assert_refused(response, entitlement: str, limit: object, plan: str = "free") -> None:
    assert response.status_code == 402, response.json()
    error = response.json()["error"]
    assert error["code"] == "entitlement_exceeded"
    assert (error["entitlement"], error["limit"], error["plan"]) == (entitlement, limit, plan)
    assert Plan.objects.get(code=plan).name in error["message"]


def test_projects_are_allowed_up_to_the_limit_and_refused_beyond(acme, client_for) -> None:
    tenant, owner = acme.tenant, acme.user
    plan_limits(projects_limit=2)
    client = client_for(tenant, owner)

    for name in ("One", "Two"):
        assert client.post("/api/v1/projects/", {"name": name}, format="json").status_code == 201
    refused = client.post("/api/v1/projects/", {"name": "Three"}, format="json")

    assert_refused(refused, "projects", 2)
    assert "2" in refused.json()["error"]["message"]
    with tenant:
        assert sorted(Project.objects.values_list("name", flat=True)) == ["One", "Two"]


def test_unlimited_projects_are_never_refused(acme, client_for) -> None:
    tenant, owner = acme.tenant, acme.user
    account = BillingAccount.objects.get(tenant=tenant)
    account.plan = plan_limits("pro", projects_limit=None)
    account.save()
    client = client_for(tenant, owner)
    for i in range(5):
        assert client.post("/api/v1/projects/", {"name": f"P{i}"}, format="json").status_code == 201


def _invite(client, email: str):
    return client.post("/api/v1/invitations/", {"email": email, "role": "member"}, format="json")


def test_invitations_reserve_seats_up_to_the_limit(acme, client_for, make_member) -> None:
    tenant, owner = acme.tenant, acme.user
    plan_limits(seats_limit=3)
    make_member(tenant)
    client = client_for(tenant, owner)

    assert _invite(client, "ada@example.test").status_code == 201  # 2 members + 1 reserved
    assert_refused(_invite(client, "bob@example.test"), "seats", 3)
    # Inviting the same address again replaces its invitation: no extra seat.
    assert _invite(client, "ada@example.test").status_code == 201
    pending = Invitation.objects.filter(tenant=tenant, accepted_at=None, revoked_at=None)
    assert list(pending.values_list("email", flat=True)) == ["ada@example.test"]


def _invitation(tenant, inviter, email: str) -> str:
    token = secrets.token_urlsafe(32)
    Invitation.objects.create(
        tenant=tenant,
        email=email,
        role=Role.MEMBER,
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        invited_by=inviter,
        expires_at=timezone.now() + timedelta(days=1),
    )
    return token


def _accept(client_for, tenant, token: str):
    return client_for(tenant).post(
        f"/api/v1/invitations/{token}/accept/", {"password": PASSWORD}, format="json"
    )


def test_accepting_takes_the_last_seat(acme, client_for, make_member) -> None:
    tenant, owner = acme.tenant, acme.user
    plan_limits(seats_limit=3)
    make_member(tenant)
    token = _invitation(tenant, owner, "ada@example.test")

    assert _accept(client_for, tenant, token).status_code == 201
    assert Membership.objects.filter(tenant=tenant).count() == 3


def test_accepting_beyond_the_limit_is_refused_and_keeps_the_invitation(
    acme, client_for, make_member
) -> None:
    tenant, owner = acme.tenant, acme.user
    plan_limits(seats_limit=3)
    token = _invitation(tenant, owner, "ada@example.test")
    make_member(tenant)
    make_member(tenant)  # seats filled by another way (e.g. a downgrade) after the invitation

    assert_refused(_accept(client_for, tenant, token), "seats", 3)
    assert Membership.objects.filter(tenant=tenant).count() == 3
    assert Invitation.objects.get(email="ada@example.test").status == "pending"


APP = {"name": "Sync", "grant_type": "client-credentials", "redirect_uris": [], "scopes": ["read"]}


def test_oauth_applications_need_the_api_feature(acme, client_for) -> None:
    tenant, owner = acme.tenant, acme.user
    client = client_for(tenant, owner)

    refused = client.post("/api/v1/oauth/applications/", APP, format="json")

    assert_refused(refused, "feature:api", False)
    BillingAccount.objects.filter(tenant=tenant).update(plan=Plan.objects.get(code="starter"))
    assert client.post("/api/v1/oauth/applications/", APP, format="json").status_code == 201


def test_entitlements_show_limits_and_usage(acme, client_for, make_member) -> None:
    tenant, owner = acme.tenant, acme.user
    viewer = make_member(tenant, role=Role.VIEWER)
    client_for(tenant, owner).post("/api/v1/projects/", {"name": "One"}, format="json")
    _invite(client_for(tenant, owner), "ada@example.test")

    response = client_for(tenant, viewer).get(URL)  # any role that reads billing

    assert response.status_code == 200
    body = response.json()
    assert body["plan"] == {"code": "free", "name": "Free"}
    assert body["seats"] == {"limit": 3, "used": 2, "reserved": 1, "remaining": 0}
    assert body["projects"] == {"limit": 3, "used": 1, "remaining": 2}
    rate = body["api_requests_per_minute"]
    assert rate["limit"] == 60
    assert rate["used"] >= 1  # this request, at least
    assert body["features"] == dict.fromkeys(KNOWN_FEATURES, False)


def test_entitlements_are_per_tenant(acme, client_for, make_tenant, make_member) -> None:
    tenant, owner = acme.tenant, acme.user
    client_for(tenant, owner).post("/api/v1/projects/", {"name": "One"}, format="json")
    make_member(tenant)
    other = make_tenant("globex")
    other_owner = make_member(other, role=Role.OWNER)
    BillingAccount.objects.filter(tenant=other).update(plan=Plan.objects.get(code="pro"))

    body = client_for(other, other_owner).get(URL).json()

    assert body["plan"]["code"] == "pro"
    assert body["seats"] == {"limit": 50, "used": 1, "reserved": 0, "remaining": 49}
    assert body["projects"] == {"limit": None, "used": 0, "remaining": None}
    assert body["features"] == dict.fromkeys(KNOWN_FEATURES, True)
    # acme's token does not open globex's entitlements
    wrong = client_for(other)
    wrong.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(tenant, owner)}")
    assert wrong.get(URL).status_code == 401


def test_entitlements_need_a_login(acme, client_for) -> None:
    tenant = acme.tenant
    assert client_for(tenant).get(URL).status_code == 401
