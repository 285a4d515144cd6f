"""SCIM Groups: one per role a member can hold; a person's group is their role. PATCH and
PUT of members change roles (audited as role changes); the owner is in none."""

import pytest

from accounts.models import Membership, Role
from saas.audit.models import AuditEntry
from tests.factories import Org
from tests.support.scim import (
    GROUP_SCHEMA,
    assert_scim_error,
    patch_body,
    user_body,
)


def role_of(org: Org, user_id: int) -> str:
    return str(Membership.objects.get(tenant=org.tenant, user_id=user_id).role)


def test_one_group_per_assignable_role(idp, acme) -> None:
    admin = acme.join(Role.ADMIN).user
    listed = idp.get("Groups").json()
    assert [g["id"] for g in listed["Resources"]] == ["admin", "billing", "member", "viewer"]
    assert listed["totalResults"] == 4
    group = idp.ok("GET", "Groups/admin")
    assert group["schemas"] == [GROUP_SCHEMA]
    assert group["displayName"] == "admin"
    assert [m["value"] for m in group["members"]] == [str(admin.pk)]
    # The owner is in no group.
    assert all(str(acme.user.pk) not in str(g["members"]) for g in listed["Resources"])
    found = idp.get("Groups", filter='displayName eq "viewer"').json()
    assert [g["id"] for g in found["Resources"]] == ["viewer"]
    assert "members" not in idp.get("Groups", excludedAttributes="members").json()["Resources"][0]
    assert_scim_error(idp.get("Groups", filter='displayName co "a"'), 400, "invalidFilter")
    assert_scim_error(idp.call("GET", "Groups/owner"), 404)
    assert_scim_error(idp.call("GET", "Groups/nope"), 404)


def test_patch_members_changes_roles(idp, acme, beta) -> None:
    person = acme.join(Role.MEMBER).user
    other = acme.join(Role.VIEWER).user
    add = patch_body(
        {"op": "add", "path": "members", "value": [{"value": str(person.pk)}]},
        {"op": "add", "value": {"members": [{"value": str(other.pk)}]}},
    )
    group = idp.ok("PATCH", "Groups/admin", add)
    assert sorted(m["value"] for m in group["members"]) == sorted([str(person.pk), str(other.pk)])
    assert role_of(acme, person.pk) == Role.ADMIN
    assert idp.ok("GET", f"Users/{person.pk}")["groups"][0]["value"] == "admin"
    # Removed from the group: back to member (the role provisioning starts people with).
    remove = patch_body({"op": "remove", "path": f'members[value eq "{person.pk}"]'})
    idp.ok("PATCH", "Groups/admin", remove)
    assert role_of(acme, person.pk) == Role.MEMBER
    remove = patch_body({"op": "remove", "path": "members", "value": [{"value": str(other.pk)}]})
    idp.ok("PATCH", "Groups/admin", remove)
    assert role_of(acme, other.pk) == Role.MEMBER
    with acme.tenant:
        changes = AuditEntry.objects.filter(action="member.role_changed").count()
    assert changes == 4
    assert list(Membership.objects.filter(tenant=beta.tenant).values_list("role", flat=True)) == [
        Role.OWNER
    ]


def test_replace_sets_the_whole_group(idp, acme) -> None:
    a, b, c = (acme.join(Role.BILLING).user for _ in range(3))
    body = {"schemas": [GROUP_SCHEMA], "displayName": "billing", "members": [{"value": str(c.pk)}]}
    idp.ok("PUT", "Groups/billing", body)
    assert [role_of(acme, u.pk) for u in (a, b, c)] == [Role.MEMBER, Role.MEMBER, Role.BILLING]
    replace = patch_body({"op": "replace", "path": "members", "value": [{"value": str(a.pk)}]})
    group = idp.ok("PATCH", "Groups/billing", replace)
    assert [m["value"] for m in group["members"]] == [str(a.pk)]
    renamed = dict(body, displayName="admins")
    assert_scim_error(idp.call("PUT", "Groups/billing", renamed), 400, "invalidValue")


def test_a_deactivated_persons_role_is_kept_for_reactivation(idp, acme) -> None:
    made = idp.ok("POST", "Users", user_body("ada@example.test"))
    off = patch_body({"op": "replace", "path": "active", "value": False})
    idp.ok("PATCH", f"Users/{made['id']}", off)
    add = patch_body({"op": "add", "path": "members", "value": [{"value": made["id"]}]})
    assert idp.ok("PATCH", "Groups/viewer", add)["members"] == []
    on = patch_body({"op": "replace", "path": "active", "value": True})
    idp.ok("PATCH", f"Users/{made['id']}", on)
    assert role_of(acme, int(made["id"])) == Role.VIEWER


@pytest.mark.parametrize(
    "leave",
    [
        {"schemas": [GROUP_SCHEMA], "displayName": "viewer", "members": []},
        patch_body({"op": "replace", "path": "members", "value": []}),
        patch_body({"op": "remove", "path": "members"}),
    ],
    ids=["put", "patch-replace", "patch-remove-all"],
)
def test_a_group_rewritten_without_a_deactivated_person_drops_their_kept_role(
    idp, acme, leave
) -> None:
    """The IdP's group is the whole truth about who holds the role: a person it leaves out
    while deactivated must not get the role back on reactivation."""
    made = idp.ok("POST", "Users", user_body("ada@example.test"))
    add = patch_body({"op": "add", "path": "members", "value": [{"value": made["id"]}]})
    idp.ok("PATCH", "Groups/viewer", add)
    off = patch_body({"op": "replace", "path": "active", "value": False})
    idp.ok("PATCH", f"Users/{made['id']}", off)
    method = "PUT" if "members" in leave else "PATCH"
    idp.ok(method, "Groups/viewer", leave)
    on = patch_body({"op": "replace", "path": "active", "value": True})
    idp.ok("PATCH", f"Users/{made['id']}", on)
    assert role_of(acme, int(made["id"])) == Role.MEMBER


def test_the_owner_and_other_organizations_people_cannot_be_moved(idp, acme, beta) -> None:
    owner = patch_body({"op": "add", "path": "members", "value": [{"value": str(acme.user.pk)}]})
    assert_scim_error(idp.call("PATCH", "Groups/admin", owner), 403)
    assert role_of(acme, acme.user.pk) == Role.OWNER
    theirs = beta.join(Role.MEMBER).user
    body = patch_body({"op": "add", "path": "members", "value": [{"value": str(theirs.pk)}]})
    assert_scim_error(idp.call("PATCH", "Groups/admin", body), 400, "invalidValue")
    assert role_of(beta, theirs.pk) == Role.MEMBER


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        (patch_body({"op": "replace", "path": "displayName", "value": "x"}), "invalidValue"),
        (patch_body({"op": "replace", "value": {"displayName": "x"}}), "invalidValue"),
        (patch_body({"op": "add", "path": "members", "value": [{"value": "x"}]}), "invalidValue"),
        (patch_body({"op": "add", "path": "members", "value": "1"}), "invalidValue"),
        (patch_body({"op": "add", "path": "owner", "value": 1}), "invalidPath"),
        (patch_body({"op": "add", "path": 'members[value eq "1"]', "value": 1}), "invalidPath"),
        (patch_body({"op": "replace", "value": {"colour": "red"}}), "invalidPath"),
    ],
)
def test_bad_group_patches_change_nothing(idp, acme, body, scim_type) -> None:
    person = acme.join(Role.ADMIN).user
    assert_scim_error(idp.call("PATCH", "Groups/admin", body), 400, scim_type)
    assert role_of(acme, person.pk) == Role.ADMIN


def test_a_refused_member_leaves_the_others_as_they_were(idp, acme) -> None:
    person = acme.join(Role.MEMBER).user
    body = patch_body(
        {"op": "add", "path": "members", "value": [{"value": str(person.pk)}]},
        {"op": "add", "path": "members", "value": [{"value": "999999"}]},
    )
    assert_scim_error(idp.call("PATCH", "Groups/admin", body), 400, "invalidValue")
    assert role_of(acme, person.pk) == Role.MEMBER


def test_a_put_without_a_group_is_refused_not_read_as_no_members(idp, acme) -> None:
    person = acme.join(Role.ADMIN).user
    assert_scim_error(idp.call("PUT", "Groups/admin", {}), 400, "invalidSyntax")
    assert role_of(acme, person.pk) == Role.ADMIN
