"""SCIM Users over HTTP on the tenant host (RFC 7644 sections 3.3-3.6): create, read, list
with filters and pages, replace, PATCH, deactivate and reactivate, delete; each against a
second organization that must stay as it was."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, Role, User
from accounts.scim.models import ScimUser
from billing.models import Plan
from saas.audit.models import AuditEntry
from tests.factories import PASSWORD, Org, make_user
from tests.support.http import assert_error
from tests.support.scim import (
    SCIM_JSON,
    USER_SCHEMA,
    ScimClient,
    assert_scim_error,
    patch_body,
    scim_client,
    user_body,
)


def beta_state(beta: Org) -> list[tuple[int, str]]:
    return sorted(Membership.objects.filter(tenant=beta.tenant).values_list("user_id", "role"))


def create(idp: ScimClient, email: str, **fields: Any) -> dict[str, Any]:
    response = idp.call("POST", "Users", user_body(email, **fields))
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_create_a_new_person(idp, acme, beta) -> None:
    before = beta_state(beta)
    response = idp.call(
        "POST",
        "Users",
        user_body(
            "Ada@Example.test",
            externalId="00u1",
            name={"givenName": "Ada", "familyName": "Lovelace"},
            password="ignored-Passw0rd!",
        ),
    )
    assert response.status_code == 201, response.content
    assert response["Content-Type"].startswith(SCIM_JSON)
    body = response.json()
    assert response["Location"] == body["meta"]["location"]
    assert body["schemas"] == [USER_SCHEMA]
    assert body["userName"] == "ada@example.test"
    assert body["externalId"] == "00u1"
    assert body["active"] is True
    assert body["groups"][0]["value"] == "member"
    assert body["meta"]["location"].endswith(f"/scim/v2/Users/{body['id']}")
    user = User.objects.get(pk=int(body["id"]))
    assert user.full_name == "Ada Lovelace"
    assert not user.has_usable_password()  # SSO or a password reset, never the IdP's
    assert Membership.objects.get(tenant=acme.tenant, user=user).role == Role.MEMBER
    assert beta_state(beta) == before
    with acme.tenant:
        entry = AuditEntry.objects.get(action="member.added", target_id=body["id"])
    # The IdP acted: the entry names its token, never a person.
    assert entry.actor_kind == "system"
    assert entry.actor_app.startswith("scim:scim_")


def test_create_an_existing_person_joins_them_as_they_are(idp, acme, beta) -> None:
    person = beta.join(Role.ADMIN).user
    person.full_name = "Grace"
    person.save()
    password_hash = User.objects.get(pk=person.pk).password
    body = create(idp, person.email.upper(), name={"formatted": "Someone Else"})
    assert body["id"] == str(person.pk)
    person.refresh_from_db()
    assert person.password == password_hash
    assert person.full_name == "Grace"
    assert person.check_password(PASSWORD)
    roles = dict(Membership.objects.filter(user=person).values_list("tenant__slug", "role"))
    assert roles == {"acme": Role.MEMBER, "beta": Role.ADMIN}


def test_create_twice_is_a_uniqueness_conflict(idp, acme) -> None:
    create(idp, "ada@example.test")
    assert_scim_error(idp.call("POST", "Users", user_body("ADA@example.test")), 409, "uniqueness")
    assert_scim_error(idp.call("POST", "Users", user_body(acme.user.email)), 409, "uniqueness")


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"schemas": [USER_SCHEMA]}, "invalidValue"),
        (user_body("not-an-email"), "invalidValue"),
        (user_body(""), "invalidValue"),
        (user_body(12), "invalidValue"),
        (user_body("a@b.test", active="maybe"), "invalidValue"),
        (user_body("a@b.test", externalId="x" * 256), "invalidValue"),
        (user_body("a@b.test", externalId=7), "invalidValue"),
        (user_body("a@b.test", name={"formatted": "two\nlines"}), "invalidValue"),
        (user_body("a@b.test", name="Ada"), "invalidValue"),
        ({"schemas": ["urn:other"], "userName": "a@b.test"}, "invalidValue"),
        ([], "invalidSyntax"),
        ("{not json", "invalidSyntax"),
    ],
)
def test_bad_users_are_refused_and_make_nothing(idp, acme, body, scim_type) -> None:
    users, members = User.objects.count(), Membership.objects.count()
    assert_scim_error(idp.call("POST", "Users", body), 400, scim_type)
    assert (User.objects.count(), Membership.objects.count()) == (users, members)
    assert not ScimUser.objects.exists()


def test_read_one_and_list(idp, acme, beta) -> None:
    made = create(idp, "ada@example.test", externalId="00u1")
    assert idp.ok("GET", f"Users/{made['id']}") == made
    listed = idp.get("Users").json()
    assert listed["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    emails = [r["userName"] for r in listed["Resources"]]
    assert emails == [acme.user.email, "ada@example.test"]
    assert listed["totalResults"] == 2
    assert listed["startIndex"] == 1
    assert listed["itemsPerPage"] == 2
    # Beta's people are no Users here.
    for member in Membership.objects.filter(tenant=beta.tenant):
        assert_scim_error(idp.call("GET", f"Users/{member.user_id}"), 404)
    assert_scim_error(idp.call("GET", "Users/abc"), 404)
    assert_scim_error(idp.call("GET", "Users/999999"), 404)


def test_pages(idp, acme) -> None:
    for n in range(4):
        create(idp, f"p{n}@example.test")
    page = idp.get("Users", startIndex=2, count=2).json()
    assert page["totalResults"] == 5
    assert page["startIndex"] == 2
    assert page["itemsPerPage"] == 2
    assert [r["userName"] for r in page["Resources"]] == ["p0@example.test", "p1@example.test"]
    assert idp.get("Users", startIndex=0, count=-1).json()["itemsPerPage"] == 0
    assert len(idp.get("Users", count=1000).json()["Resources"]) == 5
    assert_scim_error(idp.get("Users", startIndex="x"), 400, "invalidValue")
    assert_scim_error(idp.get("Users", count="1.5"), 400, "invalidValue")


def test_filters(idp, acme, beta) -> None:
    beta.join(Role.MEMBER)
    made = create(idp, "ada@example.test", externalId="00u1")
    found = idp.get("Users", filter='userName eq "ADA@example.test"').json()
    assert found["totalResults"] == 1
    assert found["Resources"][0]["id"] == made["id"]
    found = idp.get("Users", filter='externalId eq "00u1"').json()
    assert [r["id"] for r in found["Resources"]] == [made["id"]]
    assert idp.get("Users", filter='externalId eq "00U1"').json()["totalResults"] == 0
    assert idp.get("Users", filter='USERNAME EQ "ada@example.test"').json()["totalResults"] == 1
    # beta's member is not found on acme's host.
    theirs = Membership.objects.filter(tenant=beta.tenant).exclude(user=beta.user).first()
    assert theirs is not None
    query = f'userName eq "{theirs.user.email}"'
    assert idp.get("Users", filter=query).json()["totalResults"] == 0


@pytest.mark.parametrize(
    "expression",
    [
        'userName ne "ada@example.test"',
        'userName co "ada"',
        "userName pr",
        'displayName eq "Ada"',
        'userName eq "ada@example.test" or userName eq "x"',
        'userName eq "a" or "1" eq "1"',
        'userName eq "ada@example.test" and active eq true',
        'emails[value eq "ada@example.test"]',
        "userName eq ada@example.test",
        "userName eq 'ada@example.test'",
        'userName eq "unterminated',
        'userName eq "a"; DROP TABLE accounts_user; --"',
        'userName eq "' + "a" * 600 + '"',
        "",
        'not (userName eq "a")',
        'userName eq "bad\\escape\\q"',
    ],
)
def test_other_filters_are_refused(idp, expression) -> None:
    assert_scim_error(idp.get("Users", filter=expression), 400, "invalidFilter")


@pytest.mark.parametrize(
    "value",
    [
        "' OR 1=1 --",
        '\\" or userName pr or \\"',
        "%",
        "_@example.test",
        "ada@example.test' OR ''='",
        "*",
        "ada@example.test\\u0000",
    ],
)
def test_injection_attempts_in_a_value_are_matched_literally(idp, value) -> None:
    create(idp, "ada@example.test")
    response = idp.get("Users", filter=f'userName eq "{value}"')
    if response.status_code == 400:  # a NUL, refused outright
        assert_scim_error(response, 400, "invalidFilter")
    else:
        assert response.status_code == 200, response.content
        assert response.json()["totalResults"] == 0
    assert User.objects.filter(email="ada@example.test").exists()


def test_replace_sets_external_id_and_keeps_the_account(idp, acme) -> None:
    made = create(idp, "ada@example.test", externalId="old")
    body = user_body("ada@example.test", externalId="new", name={"formatted": "Changed"})
    replaced = idp.ok("PUT", f"Users/{made['id']}", body)
    assert replaced["externalId"] == "new"
    assert replaced["active"] is True
    assert User.objects.get(pk=int(made["id"])).full_name == ""
    # userName is the account's email: it cannot change here.
    response = idp.call("PUT", f"Users/{made['id']}", user_body("other@example.test"))
    assert_scim_error(response, 400, "mutability")
    assert_scim_error(idp.call("PUT", "Users/999999", user_body("x@example.test")), 404)


def test_patch_operations(idp, acme) -> None:
    made = create(idp, "ada@example.test")
    path = f"Users/{made['id']}"
    patched = idp.ok(
        "PATCH", path, patch_body({"op": "add", "path": "externalId", "value": "00u1"})
    )
    assert patched["externalId"] == "00u1"
    patched = idp.ok("PATCH", path, patch_body({"op": "Replace", "value": {"externalId": "00u2"}}))
    assert patched["externalId"] == "00u2"
    patched = idp.ok("PATCH", path, patch_body({"op": "remove", "path": "externalId"}))
    assert "externalId" not in patched
    # Attributes not kept (names, emails, an extension's) are accepted and change nothing.
    patched = idp.ok(
        "PATCH",
        path,
        patch_body(
            {"op": "replace", "path": "name.givenName", "value": "Ada"},
            {"op": "add", "path": 'emails[type eq "work"].value', "value": "x@example.test"},
            {
                "op": "replace",
                "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                "value": "R&D",
            },
        ),
    )
    assert patched["userName"] == "ada@example.test"


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"Operations": [{"op": "add", "path": "externalId", "value": "x"}]}, "invalidValue"),
        (patch_body(), "invalidSyntax"),
        (patch_body({"op": "move", "path": "active", "value": False}), "invalidSyntax"),
        (patch_body({"op": "replace", "path": "active"}), "invalidSyntax"),
        (patch_body({"op": "remove"}), "noTarget"),
        (patch_body({"op": "replace", "path": 'x" or 1=1', "value": 1}), "invalidPath"),
        (patch_body({"op": "replace", "path": "active", "value": "yes"}), "invalidValue"),
        (patch_body({"op": "remove", "path": "active"}), "invalidValue"),
        (patch_body({"op": "replace", "path": "userName", "value": "b@x.test"}), "mutability"),
        (patch_body({"op": "replace", "value": ["active"]}), "invalidSyntax"),
        (patch_body(*[{"op": "remove", "path": "externalId"}] * 101), "invalidSyntax"),
    ],
)
def test_bad_patches_change_nothing(idp, acme, body, scim_type) -> None:
    made = create(idp, "ada@example.test", externalId="keep")
    assert_scim_error(idp.call("PATCH", f"Users/{made['id']}", body), 400, scim_type)
    assert idp.ok("GET", f"Users/{made['id']}") == made


def test_deactivation_ends_access_at_the_next_request_and_reactivation_restores_it(
    idp, acme, beta, django_capture_on_commit_callbacks
) -> None:
    person = acme.join(Role.ADMIN)
    beta_before = beta_state(beta)
    assert person.client.get("/api/v1/projects/").status_code == 200
    path = f"Users/{person.user.pk}"
    off_body = patch_body({"op": "replace", "path": "active", "value": False})
    with django_capture_on_commit_callbacks(execute=True):  # the access cache is dropped
        off = idp.ok("PATCH", path, off_body)
    assert off["active"] is False
    assert off["groups"] == []
    # The person's existing JWT: refused at its next request, as after a removal.
    assert_error(person.client.get("/api/v1/projects/"), 401, "access_revoked")
    assert not Membership.objects.filter(tenant=acme.tenant, user=person.user).exists()
    assert User.objects.get(pk=person.user.pk).is_active  # the account is theirs
    # Still a User here, inactive, found by its userName.
    found = idp.get("Users", filter=f'userName eq "{person.user.email}"').json()
    assert found["Resources"][0]["active"] is False
    # Microsoft Entra ID sends "True" as a string.
    on = idp.ok("PATCH", path, patch_body({"op": "Replace", "path": "active", "value": "True"}))
    assert on["active"] is True
    assert Membership.objects.get(tenant=acme.tenant, user=person.user).role == Role.ADMIN
    assert beta_state(beta) == beta_before
    with acme.tenant:
        actions = list(
            AuditEntry.objects.filter(target_id=str(person.user.pk))
            .order_by("id")
            .values_list("action", flat=True)
        )
    assert actions == ["member.added", "member.removed", "member.added"]


def test_put_active_false_deactivates_too(idp, acme, django_capture_on_commit_callbacks) -> None:
    person = acme.join(Role.MEMBER)
    assert person.client.get("/api/v1/projects/").status_code == 200
    body = user_body(person.user.email, active=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert idp.ok("PUT", f"Users/{person.user.pk}", body)["active"] is False
    assert_error(person.client.get("/api/v1/projects/"), 401, "access_revoked")


def test_the_owner_cannot_be_deactivated_or_removed(idp, acme) -> None:
    path = f"Users/{acme.user.pk}"
    body = patch_body({"op": "replace", "path": "active", "value": False})
    assert_scim_error(idp.call("PATCH", path, body), 403)
    assert_scim_error(idp.call("DELETE", path), 403)
    assert Membership.objects.get(tenant=acme.tenant, user=acme.user).role == Role.OWNER
    assert acme.client.get("/api/v1/projects/").status_code == 200


def test_delete_removes_the_membership_never_the_account(idp, acme, beta) -> None:
    person = beta.join(Role.MEMBER).user
    made = create(idp, person.email, externalId="00u9")
    response = idp.call("DELETE", f"Users/{made['id']}")
    assert response.status_code == 204
    assert not Membership.objects.filter(tenant=acme.tenant, user=person).exists()
    assert Membership.objects.filter(tenant=beta.tenant, user=person).exists()
    assert User.objects.filter(pk=person.pk).exists()
    assert_scim_error(idp.call("GET", f"Users/{made['id']}"), 404)
    assert_scim_error(idp.call("DELETE", f"Users/{made['id']}"), 404)
    # A deactivated person can be deleted too.
    other = create(idp, "gone@example.test", active=False)
    assert idp.call("DELETE", f"Users/{other['id']}").status_code == 204
    assert not ScimUser.objects.filter(user_id=int(other["id"])).exists()


def test_seat_limits_apply(idp, acme) -> None:
    Plan.objects.filter(code="pro").update(seats_limit=2)
    made = create(idp, "one@example.test")
    assert_scim_error(idp.call("POST", "Users", user_body("two@example.test")), 403)
    assert not User.objects.filter(email="two@example.test").exists()
    # Inactive people take no seat; reactivating one needs a free one.
    idle = create(idp, "idle@example.test", active=False)
    on = patch_body({"op": "replace", "path": "active", "value": True})
    assert_scim_error(idp.call("PATCH", f"Users/{idle['id']}", on), 403)
    off = patch_body({"op": "replace", "path": "active", "value": False})
    idp.ok("PATCH", f"Users/{made['id']}", off)
    assert idp.ok("PATCH", f"Users/{idle['id']}", on)["active"] is True


def test_another_organizations_people_are_out_of_reach(idp, acme, beta) -> None:
    beta.join(Role.MEMBER)
    theirs = Membership.objects.filter(tenant=beta.tenant).exclude(user=beta.user).get()
    before = beta_state(beta)
    path = f"Users/{theirs.user_id}"
    off = patch_body({"op": "replace", "path": "active", "value": False})
    assert_scim_error(idp.call("PATCH", path, off), 404)
    assert_scim_error(idp.call("PUT", path, user_body(theirs.user.email)), 404)
    assert_scim_error(idp.call("DELETE", path), 404)
    assert beta_state(beta) == before


def test_a_person_in_two_organizations_is_provisioned_by_each_apart(idp, acme, beta) -> None:
    person = make_user(email="both@example.test")
    made = create(idp, person.email)
    theirs = scim_client(beta)
    create(theirs, person.email)
    off = patch_body({"op": "replace", "path": "active", "value": False})
    idp.ok("PATCH", f"Users/{made['id']}", off)
    assert not Membership.objects.filter(tenant=acme.tenant, user=person).exists()
    assert Membership.objects.filter(tenant=beta.tenant, user=person).exists()
    assert theirs.ok("GET", f"Users/{person.pk}")["active"] is True


def test_a_person_removed_through_the_api_can_be_provisioned_again(idp, acme) -> None:
    made = create(idp, "ada@example.test", externalId="old")
    acme.ok("delete", f"members/{made['id']}/")
    assert_scim_error(idp.call("GET", f"Users/{made['id']}"), 404)
    again = create(idp, "ada@example.test", externalId="new")
    assert again["id"] == made["id"]
    assert again["externalId"] == "new"
    assert again["active"] is True


def test_a_list_costs_the_same_queries_for_any_number_of_users(idp, acme) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert idp.get("Users").status_code == 200
        return len(captured)

    create(idp, "one@example.test")
    few = queries()
    for n in range(5):
        create(idp, f"more{n}@example.test", externalId=f"x{n}")
    assert queries() == few
