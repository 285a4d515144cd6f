"""Members: list, change role, remove, leave, transfer ownership. Exactly one owner."""

import pytest

from accounts.models import Membership, Role
from tests.factories import make_user


@pytest.fixture
def team(db, make_tenant, make_member):
    tenant = make_tenant("acme")
    return {
        "tenant": tenant,
        **{
            role: make_member(tenant, role=role)
            for role in ("owner", "admin", "member", "viewer", "billing")
        },
    }


def role_of(team, who: str) -> str:
    return Membership.objects.get(tenant=team["tenant"], user=team[who]).role


def test_members_are_listed_with_roles_and_filtered(team, client_for):
    client = client_for(team["tenant"], team["viewer"])
    body = client.get("/api/v1/members/").json()
    assert body["count"] == 5
    assert {m["role"] for m in body["results"]} == {"owner", "admin", "member", "viewer", "billing"}
    only_admins = client.get("/api/v1/members/?role=admin").json()["results"]
    assert [m["email"] for m in only_admins] == [team["admin"].email]


def test_members_of_another_tenant_are_not_listed(team, client_for, make_tenant, make_member):
    beta = make_tenant("beta")
    stranger = make_member(beta, role="owner")
    emails = [
        m["email"]
        for m in client_for(team["tenant"], team["admin"]).get("/api/v1/members/").json()["results"]
    ]
    assert stranger.email not in emails
    patched = client_for(team["tenant"], team["admin"]).patch(
        f"/api/v1/members/{stranger.pk}/", {"role": "viewer"}, format="json"
    )
    assert patched.status_code == 404
    assert Membership.objects.get(user=stranger).role == "owner"


def test_admin_changes_a_role(team, client_for):
    response = client_for(team["tenant"], team["admin"]).patch(
        f"/api/v1/members/{team['member'].pk}/", {"role": "viewer"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["role"] == "viewer"
    assert role_of(team, "member") == "viewer"


@pytest.mark.parametrize(
    ("actor", "target", "role", "status", "code"),
    [
        ("admin", "owner", "viewer", 409, "owner_required"),
        ("admin", "member", "owner", 400, "invalid"),  # not an assignable choice
        ("owner", "owner", "admin", 409, "owner_required"),
        ("member", "viewer", "member", 403, "permission_denied"),
        ("billing", "viewer", "member", 403, "permission_denied"),
        ("viewer", "member", "viewer", 403, "permission_denied"),
        ("admin", "member", "superuser", 400, "invalid"),
    ],
)
def test_role_changes_that_are_refused(team, client_for, actor, target, role, status, code):
    before = role_of(team, target)
    response = client_for(team["tenant"], team[actor]).patch(
        f"/api/v1/members/{team[target].pk}/", {"role": role}, format="json"
    )
    assert response.status_code == status, response.json()
    assert response.json()["error"]["code"] == code
    assert role_of(team, target) == before


def test_admin_removes_a_member(team, client_for):
    response = client_for(team["tenant"], team["admin"]).delete(
        f"/api/v1/members/{team['member'].pk}/"
    )
    assert response.status_code == 204
    assert not Membership.objects.filter(user=team["member"]).exists()


def test_the_owner_cannot_be_removed_or_leave(team, client_for):
    removed = client_for(team["tenant"], team["admin"]).delete(
        f"/api/v1/members/{team['owner'].pk}/"
    )
    assert removed.status_code == 409
    left = client_for(team["tenant"], team["owner"]).delete("/api/v1/members/me/")
    assert left.status_code == 409
    assert left.json()["error"]["code"] == "owner_required"
    assert role_of(team, "owner") == "owner"


@pytest.mark.parametrize("who", ["viewer", "billing", "admin"])
def test_any_other_member_can_leave(team, client_for, who):
    assert client_for(team["tenant"], team[who]).delete("/api/v1/members/me/").status_code == 204
    assert not Membership.objects.filter(user=team[who]).exists()


def test_ownership_transfer_keeps_exactly_one_owner(team, client_for):
    response = client_for(team["tenant"], team["owner"]).post(
        "/api/v1/members/transfer-ownership/", {"user_id": team["member"].pk}, format="json"
    )
    assert response.status_code == 200
    assert role_of(team, "member") == "owner"
    assert role_of(team, "owner") == "admin"
    assert Membership.objects.filter(tenant=team["tenant"], role=Role.OWNER).count() == 1


@pytest.mark.parametrize(("actor", "status"), [("admin", 403), ("member", 403)])
def test_only_the_owner_transfers_ownership(team, client_for, actor, status):
    response = client_for(team["tenant"], team[actor]).post(
        "/api/v1/members/transfer-ownership/", {"user_id": team[actor].pk}, format="json"
    )
    assert response.status_code == status
    assert role_of(team, "owner") == "owner"


def test_transfer_to_a_non_member_is_404(team, client_for):
    outsider = make_user()
    response = client_for(team["tenant"], team["owner"]).post(
        "/api/v1/members/transfer-ownership/", {"user_id": outsider.pk}, format="json"
    )
    assert response.status_code == 404
    assert role_of(team, "owner") == "owner"


def test_the_database_refuses_a_second_owner(team):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(user=team["admin"]).update(role="owner")
