"""What each role can reach, over the API."""

import pytest

from accounts.roles import ROLE_CAPABILITIES, Capability

ROLES = ["owner", "admin", "billing", "member", "viewer"]


@pytest.mark.parametrize(
    ("role", "read", "write"),
    [
        ("owner", 200, 201),
        ("admin", 200, 201),
        ("member", 200, 201),
        ("viewer", 200, 403),
        ("billing", 403, 403),
    ],
)
def test_product_resources_by_role(db, client_for, make_tenant, make_member, role, read, write):
    tenant = make_tenant("acme")
    client = client_for(tenant, make_member(tenant, role=role))
    assert client.get("/api/v1/projects/").status_code == read
    assert client.post("/api/v1/projects/", {"name": "x"}, format="json").status_code == write


@pytest.mark.parametrize(
    ("role", "list_members", "invite"),
    [
        ("owner", 200, 201),
        ("admin", 200, 201),
        ("member", 200, 403),
        ("viewer", 200, 403),
        ("billing", 403, 403),
    ],
)
def test_team_endpoints_by_role(
    db, client_for, make_tenant, make_member, role, list_members, invite
):
    tenant = make_tenant("acme")
    client = client_for(tenant, make_member(tenant, role=role))
    assert client.get("/api/v1/members/").status_code == list_members
    body = {"email": "new@example.test", "role": "member"}
    assert client.post("/api/v1/invitations/", body, format="json").status_code == invite


def test_capability_matrix() -> None:
    can = {role: ROLE_CAPABILITIES[role] for role in ROLES}
    assert Capability.BILLING_MANAGE in can["billing"]
    assert Capability.BILLING_MANAGE not in can["member"]
    assert not ({Capability.MEMBERS_MANAGE, Capability.MEMBERS_READ} & can["billing"])
    assert not ({Capability.RESOURCES_READ, Capability.RESOURCES_WRITE} & can["billing"])
    assert Capability.RESOURCES_WRITE not in can["viewer"]
    assert Capability.OWNERSHIP_TRANSFER in can["owner"]
    assert Capability.OWNERSHIP_TRANSFER not in can["admin"]
    assert can["admin"] < can["owner"]
    assert can["viewer"] < can["member"] < can["admin"]
    for role in ROLES:
        assert Capability.MEMBERSHIP_SELF in can[role]
