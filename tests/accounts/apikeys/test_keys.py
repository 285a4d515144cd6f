"""API keys over the API: made by any member for themselves with scopes their role can
grant, shown once, stored hashed, listed without the secret; audited; one organization's
never another's; the plan's api feature and a cap on active keys."""

import hashlib
import logging
from datetime import timedelta
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.apikeys.models import ApiKey
from accounts.apikeys.services import MAX_ACTIVE_KEYS
from accounts.models import Role
from saas.audit.models import AuditEntry
from tests.support.apikeys import PATH, api_key, key_client
from tests.support.http import assert_error, assert_no_store
from tests.support.observability import json_logs


def test_a_key_is_shown_once_stored_hashed_and_listed_without_it(acme) -> None:
    acme.on_plan("starter")
    response = acme.client.post(PATH, {"name": "CI", "scopes": ["read"]}, format="json")
    assert response.status_code == 201, response.content
    assert_no_store(response)
    body = response.json()
    raw = body["key"]
    assert raw.startswith("sk_test_")
    assert len(raw) == len("sk_test_") + 43
    assert body["prefix"] == raw[:16]
    assert body["scopes"] == ["read"]
    assert body["created_by"] == acme.user.pk
    assert body["last_used_at"] is None
    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {str(getattr(stored, f.attname)) for f in ApiKey._meta.concrete_fields}
    listed = acme.client.get(PATH).json()["results"]
    assert [k["id"] for k in listed] == [body["id"]]
    assert "key" not in listed[0]
    detail = acme.client.get(f"{PATH}{body['id']}/")
    assert detail.status_code == 200
    assert "key" not in detail.json()
    with acme.tenant:
        entry = AuditEntry.objects.get(action="api_key.created")
    assert entry.actor_id == acme.user.pk
    assert entry.target_id == str(body["id"])
    assert raw not in str(entry.changes)
    assert entry.changes["prefix"]["after"] == body["prefix"]


def test_the_plan_must_include_api(acme) -> None:
    acme.on_plan("starter")
    made = api_key(acme)
    acme.on_plan("free")
    response = acme.client.post(PATH, {"name": "x", "scopes": ["read"]}, format="json")
    assert_error(response, 402, "entitlement_exceeded")
    # Listing and revoking stay open, so a downgraded organization can clean up.
    assert acme.client.get(PATH).status_code == 200
    assert acme.client.delete(f"{PATH}{made['id']}/").status_code == 204
    assert ApiKey.objects.count() == 1


def test_a_member_makes_keys_within_their_role_and_sees_only_their_own(acme) -> None:
    acme.on_plan("starter")
    owners = api_key(acme, "read", "admin")
    viewer = acme.join(Role.VIEWER)
    response = viewer.client.post(PATH, {"name": "v", "scopes": ["write"]}, format="json")
    error = assert_error(response, 400, "invalid")
    assert "scopes" in error["fields"]
    mine = api_key(viewer, "read")
    assert [k["id"] for k in viewer.client.get(PATH).json()["results"]] == [mine["id"]]
    assert_error(viewer.client.get(f"{PATH}{owners['id']}/"), 404)
    assert_error(viewer.client.delete(f"{PATH}{owners['id']}/"), 404)
    billing = acme.join(Role.BILLING)
    assert_error(billing.client.post(PATH, {"name": "b", "scopes": ["read"]}, format="json"), 400)
    api_key(billing, "billing")
    # The owner sees every key and may revoke a member's.
    assert len(acme.client.get(PATH).json()["results"]) == 3
    assert acme.client.delete(f"{PATH}{mine['id']}/").status_code == 204
    assert ApiKey.objects.get(pk=owners["id"]).revoked_at is None


def test_only_the_creator_rotates_a_key(acme) -> None:
    acme.on_plan("starter")
    member = acme.join(Role.MEMBER)
    theirs = api_key(member, "read")
    response = acme.client.post(f"{PATH}{theirs['id']}/rotate/", {}, format="json")
    assert_error(response, 403, "api_key_not_yours")
    assert ApiKey.objects.count() == 1


def test_a_key_cannot_manage_keys(acme) -> None:
    """A credential must not mint credentials: key management needs the person's login."""
    acme.on_plan("starter")
    made = api_key(acme, "read", "write", "admin")
    client = key_client(acme, made["key"])
    assert_error(client.get(PATH), 403)
    assert_error(client.post(PATH, {"name": "x", "scopes": ["read"]}, format="json"), 403)
    assert ApiKey.objects.count() == 1


def test_bad_input_is_refused_whole(acme) -> None:
    acme.on_plan("starter")
    now = timezone.now()
    for body in (
        {},
        {"name": "x"},
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["root"]},
        {"name": "x", "scopes": "read"},
        {"name": "", "scopes": ["read"]},
        {"name": "a\nb", "scopes": ["read"]},
        {"name": "x" * 101, "scopes": ["read"]},
        {"name": "x", "scopes": ["read"], "expires_at": (now - timedelta(minutes=1)).isoformat()},
        {"name": "x", "scopes": ["read"], "expires_at": (now + timedelta(days=400)).isoformat()},
        {"name": "x", "scopes": ["read"], "expires_at": "tomorrow"},
        {"name": "x", "scopes": ["read"], "extra": 1},
    ):
        assert_error(acme.client.post(PATH, body, format="json"), 400)
    made = api_key(acme)
    renames: list[dict[str, Any]] = [{"name": ""}, {"name": "x" * 101}, {"scopes": ["admin"]}]
    for change in renames:
        assert_error(acme.client.patch(f"{PATH}{made['id']}/", change, format="json"), 400)
    overlaps: list[dict[str, Any]] = [
        {"overlap_seconds": -1},
        {"overlap_seconds": 8 * 86400},
        {"overlap_seconds": "x"},
    ]
    for overlap in overlaps:
        response = acme.client.post(f"{PATH}{made['id']}/rotate/", overlap, format="json")
        assert_error(response, 400)
    assert ApiKey.objects.count() == 1


def test_rename_is_audited(acme) -> None:
    acme.on_plan("starter")
    made = api_key(acme, name="old")
    body = acme.ok("patch", f"api-keys/{made['id']}/", {"name": "new"})
    assert body["name"] == "new"
    with acme.tenant:
        entry = AuditEntry.objects.get(action="api_key.updated")
    assert entry.changes == {"name": {"before": "old", "after": "new"}}
    # An empty PATCH changes nothing and records nothing.
    assert acme.ok("patch", f"api-keys/{made['id']}/", {})["name"] == "new"
    with acme.tenant:
        assert AuditEntry.objects.filter(action="api_key.updated").count() == 1


def test_another_organizations_keys_are_unknown(acme, beta) -> None:
    acme.on_plan("starter")
    beta.on_plan("starter")
    theirs = api_key(beta)
    assert acme.client.get(PATH).json()["results"] == []
    for method in ("get", "delete"):
        assert_error(getattr(acme.client, method)(f"{PATH}{theirs['id']}/"), 404)
    assert_error(acme.client.patch(f"{PATH}{theirs['id']}/", {"name": "x"}, format="json"), 404)
    assert_error(acme.client.post(f"{PATH}{theirs['id']}/rotate/", {}, format="json"), 404)
    assert ApiKey.objects.get(pk=theirs["id"]).revoked_at is None
    assert ApiKey.objects.get(pk=theirs["id"]).name == "script"


def test_at_most_so_many_active_keys(acme) -> None:
    acme.on_plan("starter")
    ApiKey.objects.bulk_create(
        ApiKey(
            tenant=acme.tenant,
            name=f"k{n}",
            prefix="sk_test_x",
            key_hash=f"{n:064d}",
            scopes="read",
            created_by_id=acme.user.pk,
        )
        for n in range(MAX_ACTIVE_KEYS)
    )
    response = acme.client.post(PATH, {"name": "one more", "scopes": ["read"]}, format="json")
    assert_error(response, 409, "api_key_limit")
    first = ApiKey.objects.filter(tenant=acme.tenant).first()
    assert first is not None
    acme.ok("delete", f"api-keys/{first.pk}/")
    api_key(acme, name="one more")


def test_the_key_list_costs_the_same_queries_for_any_number(acme) -> None:
    acme.on_plan("starter")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert acme.client.get(PATH).status_code == 200
        return len(captured)

    api_key(acme, name="one")
    few = queries()
    for n in range(4):
        api_key(acme, name=f"k{n}")
    assert queries() == few


def test_a_key_never_reaches_the_logs(acme) -> None:
    """The log filters scrub the key's shape wherever it appears: a message, an extra, a
    path that carries it by mistake."""
    acme.on_plan("starter")
    raw = api_key(acme)["key"]
    with json_logs() as logs:
        logging.getLogger("tests.redaction").warning("calling with %s", raw, extra={"k": raw})
        key_client(acme, raw).get(f"/api/v1/projects/?token={raw}")
        key_client(acme, raw + "x").get("/api/v1/projects/")
    assert logs.text
    assert raw[len("sk_test_") :] not in logs.text
    assert raw[len("sk_test_") : len("sk_test_") + 12] not in logs.text
