"""SCIM tokens over the API: made by owners and admins on a plan with scim, shown once,
stored hashed, listed without the secret, revoked; audited; one organization's never
another's."""

import hashlib

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from accounts.scim.models import ScimToken
from saas.audit.models import AuditEntry
from tests.support.http import assert_error, assert_no_store
from tests.support.scim import assert_scim_error, scim_client, scim_token

PATH = "/api/v1/scim/tokens/"


def test_an_admin_makes_a_token_shown_once_and_stored_hashed(acme) -> None:
    acme.on_plan("pro")
    admin = acme.join(Role.ADMIN)
    response = admin.client.post(PATH, {"name": "Okta"}, format="json")
    assert response.status_code == 201, response.content
    assert_no_store(response)
    body = response.json()
    raw = body["token"]
    assert raw.startswith("scim_")
    assert len(raw) > 40
    assert body["prefix"] == raw[:13]
    assert body["name"] == "Okta"
    assert body["created_by"] == admin.user.pk
    assert body["revoked_at"] is None
    stored = ScimToken.objects.get(pk=body["id"])
    assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {getattr(stored, f.attname) for f in ScimToken._meta.concrete_fields}
    listed = acme.client.get(PATH).json()["results"]
    assert [t["id"] for t in listed] == [body["id"]]
    assert "token" not in listed[0]
    with acme.tenant:
        entry = AuditEntry.objects.get(action="scim.token_created")
    assert entry.actor_id == admin.user.pk
    assert entry.target_id == str(body["id"])
    assert raw not in str(entry.changes)
    # The token works on the SCIM service of this host.
    assert scim_client(acme, raw).get("Users").status_code == 200


def test_the_plan_must_include_scim(acme) -> None:
    acme.on_plan("starter")
    response = acme.client.post(PATH, {"name": "Okta"}, format="json")
    assert_error(response, 402, "entitlement_exceeded")
    assert not ScimToken.objects.exists()
    # Listing stays open, so a downgraded organization can see and revoke its tokens.
    assert acme.client.get(PATH).status_code == 200


def test_members_and_billing_cannot_manage_tokens(acme) -> None:
    acme.on_plan("pro")
    for role in (Role.MEMBER, Role.VIEWER, Role.BILLING):
        other = acme.join(role)
        assert_error(other.client.post(PATH, {"name": "x"}, format="json"), 403)
        assert_error(other.client.get(PATH), 403)
    assert not ScimToken.objects.exists()


def test_bad_input_is_refused_whole(acme) -> None:
    acme.on_plan("pro")
    for body in ({}, {"name": ""}, {"name": "a\nb"}, {"name": "x" * 101}, {"name": "x", "y": 1}):
        assert_error(acme.client.post(PATH, body, format="json"), 400)
    assert not ScimToken.objects.exists()


def test_revoked_tokens_are_refused_at_the_next_request(acme) -> None:
    acme.on_plan("pro")
    body = acme.ok("post", "scim/tokens/", {"name": "Okta"})
    client = scim_client(acme, body["token"])
    assert client.get("Users").status_code == 200
    assert acme.client.delete(f"{PATH}{body['id']}/").status_code == 204
    assert_scim_error(client.get("Users"), 401)
    # Again: nothing more changes, and one audit entry says when.
    assert acme.client.delete(f"{PATH}{body['id']}/").status_code == 204
    with acme.tenant:
        assert AuditEntry.objects.filter(action="scim.token_revoked").count() == 1
    assert acme.client.get(PATH).json()["results"][0]["revoked_at"] is not None


def test_another_organizations_tokens_are_unknown(acme, beta) -> None:
    acme.on_plan("pro")
    beta.on_plan("pro")
    theirs = beta.ok("post", "scim/tokens/", {"name": "Beta IdP"})
    assert acme.client.get(PATH).json()["results"] == []
    assert_error(acme.client.delete(f"{PATH}{theirs['id']}/"), 404)
    assert ScimToken.objects.get(pk=theirs["id"]).revoked_at is None
    # Beta's token on acme's host is no credential there.
    assert_scim_error(scim_client(acme, theirs["token"]).get("Users"), 401)


def test_at_most_ten_active_tokens(acme) -> None:
    acme.on_plan("pro")
    made = [acme.ok("post", "scim/tokens/", {"name": f"t{n}"}) for n in range(10)]
    assert_error(acme.client.post(PATH, {"name": "one more"}, format="json"), 409)
    acme.ok("delete", f"scim/tokens/{made[0]['id']}/")
    acme.ok("post", "scim/tokens/", {"name": "one more"})


def test_the_token_list_costs_the_same_queries_for_any_number(acme) -> None:
    acme.on_plan("pro")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert acme.client.get(PATH).status_code == 200
        return len(captured)

    acme.ok("post", "scim/tokens/", {"name": "one"})
    few = queries()
    for n in range(4):
        acme.ok("post", "scim/tokens/", {"name": f"t{n}"})
    assert queries() == few


def test_the_list_shows_when_each_token_was_last_used(acme, beta) -> None:
    """An admin deciding which token to revoke needs to know which one the IdP still uses.
    The use is recorded at most once a minute (no write per SCIM request), and only on the
    token that was used."""
    acme.on_plan("pro")
    beta.on_plan("pro")
    used = scim_token(acme, "Okta")
    scim_token(acme, "Old Okta")
    scim_token(beta, "Entra")
    before = {t["name"]: t for t in acme.client.get(PATH).json()["results"]}
    assert before["Okta"]["last_used_at"] is None
    assert scim_client(acme, used).get("Users").status_code == 200
    first = {t["name"]: t["last_used_at"] for t in acme.client.get(PATH).json()["results"]}
    assert first["Okta"] is not None
    assert first["Old Okta"] is None
    # Within the minute, a second call writes nothing.
    with CaptureQueriesContext(connection) as queries:
        assert scim_client(acme, used).get("Users").status_code == 200
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    again = {t["name"]: t["last_used_at"] for t in acme.client.get(PATH).json()["results"]}
    assert again["Okta"] == first["Okta"]
    # Another organization's token stays unused; acme's token on beta's host is refused and
    # counts as no use of beta's.
    assert scim_client(beta, used).get("Users").status_code == 401
    assert [t["last_used_at"] for t in beta.client.get(PATH).json()["results"]] == [None]
