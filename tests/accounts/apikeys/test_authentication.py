"""Calling the API with a key: on its organization's host only, as its creator with the role
they hold now narrowed by its scopes; refused at the next request once revoked, expired,
retired after a rotation's overlap, or when its creator left; its use recorded at most once
a minute; concurrent revocations and rotations leave one state."""

from datetime import timedelta

import redis
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from redis.backoff import NoBackoff
from redis.retry import Retry
from rest_framework.test import APIClient

from accounts import prefetch
from accounts.access import member_access_forget
from accounts.apikeys import cache as apikeys_cache
from accounts.apikeys.models import ApiKey
from accounts.apikeys.services import MAX_ACTIVE_KEYS
from accounts.mfa.models import MfaPolicy
from accounts.models import Role
from accounts.services import membership_change_role, membership_remove
from billing import throttling
from billing.models import Plan
from saas.audit.models import AuditEntry
from tests.factories import client_for
from tests.support.apikeys import PATH, api_key, key_client
from tests.support.concurrency import at_once
from tests.support.http import assert_error, host_of
from tests.support.processes import free_port

PROJECTS = "/api/v1/projects/"
ADMIN_ONLY = "/api/v1/oauth/applications/"


def _warm(client: APIClient) -> None:
    for _ in range(2):
        assert client.get(PROJECTS).status_code == 200


def test_a_read_key_reads_and_cannot_write(acme) -> None:
    acme.on_plan("starter")
    acme.project(name="Apollo")
    client = key_client(acme, api_key(acme, "read")["key"])
    response = client.get(PROJECTS)
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["results"]] == ["Apollo"]
    assert_error(client.post(PROJECTS, {"name": "No"}, format="json"), 403)


def test_a_key_counts_against_the_plans_rate_like_any_caller(
    acme, beta, frozen_rate_window: float
) -> None:
    """The organization's one budget: a key's requests and its owner's token requests use the
    same per-minute count, the key is refused with 429 past it, and another organization's
    budget is untouched."""
    Plan.objects.filter(code="starter").update(api_requests_per_minute=4)
    acme.on_plan("starter")
    beta.on_plan("starter")
    key = key_client(acme, api_key(acme, "read")["key"])  # the key is made over the API: 1
    assert acme.client.get(PROJECTS)["X-RateLimit-Remaining"] == "2"
    assert [key.get(PROJECTS)["X-RateLimit-Remaining"] for _ in range(2)] == ["1", "0"]
    refused = assert_error(key.get(PROJECTS), 429, "rate_limited")
    assert refused["message"]
    assert acme.client.get(PROJECTS).status_code == 429
    assert beta.client.get(PROJECTS)["X-RateLimit-Remaining"] == "3"


def test_a_write_key_acts_as_its_creator_and_is_named_in_the_audit_log(acme) -> None:
    acme.on_plan("starter")
    made = api_key(acme, "read", "write")
    response = key_client(acme, made["key"]).post(PROJECTS, {"name": "Made"}, format="json")
    assert response.status_code == 201, response.content
    with acme.tenant:
        entry = AuditEntry.objects.get(action="project.created")
    assert entry.actor_id == acme.user.pk
    assert entry.actor_app == f"api_key:{made['prefix']}"
    assert made["key"] not in entry.actor_app


def test_admin_capabilities_need_the_admin_scope_and_an_admin_creator(acme) -> None:
    acme.on_plan("starter")
    assert (
        key_client(acme, api_key(acme, "read", "admin")["key"]).get(ADMIN_ONLY).status_code == 200
    )
    assert_error(key_client(acme, api_key(acme, "read", "write")["key"]).get(ADMIN_ONLY), 403)
    member = acme.join(Role.MEMBER)
    response = member.client.post(PATH, {"name": "x", "scopes": ["admin"]}, format="json")
    assert_error(response, 400, "invalid")
    members_key = key_client(acme, api_key(member, "read", "write")["key"])
    assert members_key.get(PROJECTS).status_code == 200
    assert_error(members_key.get(ADMIN_ONLY), 403)


def test_another_organizations_host_answers_as_for_an_unknown_key(acme, beta) -> None:
    acme.on_plan("starter")
    made = api_key(acme)
    on_beta = APIClient(HTTP_HOST=host_of(beta.tenant))
    on_beta.credentials(HTTP_AUTHORIZATION=f"Bearer {made['key']}")
    wrong_host = assert_error(on_beta.get(PROJECTS), 401, "api_key_invalid")
    unknown = "sk_test_" + "A" * 43
    for raw in (unknown, made["key"][:-1], made["key"] + "x", "sk_live_" + made["key"][8:]):
        error = assert_error(key_client(acme, raw).get(PROJECTS), 401, "api_key_invalid")
        assert error["message"] == wrong_host["message"]
    # Warm on its own host, still refused on beta's.
    _warm(key_client(acme, made["key"]))
    assert_error(on_beta.get(PROJECTS), 401, "api_key_invalid")
    # A bearer value that is no key nor token of any kind is refused in the one format too.
    for raw in ("not-a-key", "sk_", "eyJ.eyJ.x"):
        assert_error(key_client(acme, raw).get(PROJECTS), 401)


def test_a_revoked_key_is_refused_at_the_next_request(
    acme, django_capture_on_commit_callbacks
) -> None:
    acme.on_plan("starter")
    made = api_key(acme)
    client = key_client(acme, made["key"])
    _warm(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert acme.client.delete(f"{PATH}{made['id']}/").status_code == 204
    assert_error(client.get(PROJECTS), 401, "api_key_invalid")
    with acme.tenant:
        assert AuditEntry.objects.filter(action="api_key.revoked").count() == 1
    # Again: nothing more changes.
    assert acme.client.delete(f"{PATH}{made['id']}/").status_code == 204
    with acme.tenant:
        assert AuditEntry.objects.filter(action="api_key.revoked").count() == 1


def test_a_key_is_refused_once_it_expires(acme, key_clock) -> None:
    acme.on_plan("starter")
    soon = timezone.now() + timedelta(hours=1)
    made = api_key(acme, expires_at=soon.isoformat())
    client = key_client(acme, made["key"])
    _warm(client)
    key_clock(2 * 3600)  # the cached entry knows when the key ends
    assert_error(client.get(PROJECTS), 401, "api_key_invalid")
    # And from the row, uncached.
    other = api_key(acme, expires_at=soon.isoformat())
    assert_error(key_client(acme, other["key"]).get(PROJECTS), 401, "api_key_invalid")


def test_rotation_keeps_the_old_key_working_for_the_overlap_only(
    acme, key_clock, django_capture_on_commit_callbacks
) -> None:
    acme.on_plan("starter")
    made = api_key(acme, "read", "write", name="deploy")
    old = key_client(acme, made["key"])
    _warm(old)
    with django_capture_on_commit_callbacks(execute=True):
        response = acme.client.post(
            f"{PATH}{made['id']}/rotate/", {"overlap_seconds": 3600}, format="json"
        )
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    successor = response.json()
    assert successor["key"] != made["key"]
    assert (successor["name"], successor["scopes"]) == ("deploy", ["read", "write"])
    new = key_client(acme, successor["key"])
    assert old.get(PROJECTS).status_code == 200
    assert new.get(PROJECTS).status_code == 200
    listed = {k["id"]: k for k in acme.client.get(PATH).json()["results"]}
    assert listed[made["id"]]["rotated_to"] == successor["id"]
    assert listed[made["id"]]["retires_at"] is not None
    # A key is rotated once.
    again = acme.client.post(f"{PATH}{made['id']}/rotate/", {}, format="json")
    assert_error(again, 409, "api_key_rotated")
    key_clock(2 * 3600)
    assert_error(old.get(PROJECTS), 401, "api_key_invalid")
    assert new.get(PROJECTS).status_code == 200
    with acme.tenant:
        entry = AuditEntry.objects.get(action="api_key.rotated")
    assert entry.target_id == str(made["id"])
    assert successor["key"] not in str(entry.changes)


def test_the_default_overlap_is_a_day(acme, key_clock) -> None:
    acme.on_plan("starter")
    made = api_key(acme)
    acme.ok("post", f"api-keys/{made['id']}/rotate/", {})
    old = key_client(acme, made["key"])
    key_clock(23 * 3600)
    assert old.get(PROJECTS).status_code == 200
    key_clock(2 * 3600)
    assert_error(old.get(PROJECTS), 401, "api_key_invalid")


def test_the_creators_current_role_decides_at_the_next_request(
    acme, django_capture_on_commit_callbacks
) -> None:
    acme.on_plan("starter")
    admin = acme.join(Role.ADMIN)
    client = key_client(acme, api_key(admin, "read", "write", "admin")["key"])
    _warm(client)
    assert client.get(ADMIN_ONLY).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        membership_change_role(
            tenant=acme.tenant, by_role=Role.OWNER, user_id=admin.user.pk, role=Role.VIEWER
        )
    assert_error(client.get(ADMIN_ONLY), 403)
    assert_error(client.post(PROJECTS, {"name": "x"}, format="json"), 403)
    assert client.get(PROJECTS).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        membership_remove(tenant=acme.tenant, user_id=admin.user.pk)
    assert_error(client.get(PROJECTS), 401, "access_revoked")


def test_a_key_is_not_held_back_by_the_mfa_policy(acme) -> None:
    """A key is a machine credential, like an OAuth2 client-credentials application; the
    owner's own login without a second factor is held back."""
    acme.on_plan("pro")
    client = key_client(acme, api_key(acme)["key"])
    MfaPolicy.objects.create(tenant=acme.tenant, require_for_admins=True)
    member_access_forget(user_id=acme.user.pk, tenant_ids=[acme.tenant.pk])
    assert_error(client_for(acme.tenant, acme.user).get(PROJECTS), 403, "mfa_enrollment_required")
    assert client.get(PROJECTS).status_code == 200


def _updates(captured: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("UPDATE") and "apikeys_apikey" in q["sql"]
    ]


def test_last_use_is_recorded_at_most_once_a_minute(acme, beta) -> None:
    acme.on_plan("starter")
    used = api_key(acme, name="used")
    api_key(acme, name="idle")
    client = key_client(acme, used["key"])
    with CaptureQueriesContext(connection) as first:
        assert client.get(PROJECTS).status_code == 200
    assert len(_updates(first)) == 1
    listed = {k["name"]: k for k in acme.client.get(PATH).json()["results"]}
    assert listed["used"]["last_used_at"] is not None
    assert listed["used"]["last_used_ip"] == "127.0.0.1"
    assert listed["idle"]["last_used_at"] is None
    # Within the minute, nothing is written: neither cached nor (the entry gone) from the row.
    with CaptureQueriesContext(connection) as again:
        assert client.get(PROJECTS).status_code == 200
    assert _updates(again) == []
    cache.delete_pattern("*apikey:*")  # type: ignore[attr-defined]
    with CaptureQueriesContext(connection) as uncached:
        assert client.get(PROJECTS).status_code == 200
    assert _updates(uncached) == []
    # A minute later (the row says so), the next uncached use writes once.
    ApiKey.objects.filter(pk=used["id"]).update(last_used_at=timezone.now() - timedelta(minutes=2))
    cache.delete_pattern("*apikey:*")  # type: ignore[attr-defined]
    with CaptureQueriesContext(connection) as later:
        assert client.get(PROJECTS).status_code == 200
        assert client.get(PROJECTS).status_code == 200
    assert len(_updates(later)) == 1
    # The key on beta's host is no use of it.
    stamp = ApiKey.objects.get(pk=used["id"]).last_used_at
    on_beta = APIClient(HTTP_HOST=host_of(beta.tenant))
    on_beta.credentials(HTTP_AUTHORIZATION=f"Bearer {used['key']}")
    cache.delete_pattern("*apikey:*")  # type: ignore[attr-defined]
    assert on_beta.get(PROJECTS).status_code == 401
    assert ApiKey.objects.get(pk=used["id"]).last_used_at == stamp


def test_two_concurrent_revocations_revoke_once(committed, make_org, loose_rates) -> None:
    org = make_org("acme").on_plan("starter")
    made = api_key(org)
    token = org.client._credentials["HTTP_AUTHORIZATION"]

    def revoke() -> int:
        client = client_for(org.tenant)
        client.credentials(HTTP_AUTHORIZATION=token)
        return client.delete(f"{PATH}{made['id']}/").status_code

    assert sorted(at_once(revoke, revoke)) == [204, 204]
    with org.tenant:
        assert AuditEntry.objects.filter(action="api_key.revoked").count() == 1
    assert_error(key_client(org, made["key"]).get(PROJECTS), 401, "api_key_invalid")


def test_two_concurrent_rotations_leave_one_successor(committed, make_org, loose_rates) -> None:
    org = make_org("acme").on_plan("starter")
    made = api_key(org)
    token = org.client._credentials["HTTP_AUTHORIZATION"]

    def rotate() -> int:
        client = client_for(org.tenant)
        client.credentials(HTTP_AUTHORIZATION=token)
        return client.post(f"{PATH}{made['id']}/rotate/", {}, format="json").status_code

    assert sorted(at_once(rotate, rotate)) == [201, 409]
    assert ApiKey.objects.filter(tenant=org.tenant).count() == 2
    assert ApiKey.objects.filter(rotated_from__isnull=False).count() == 1
    with org.tenant:
        assert AuditEntry.objects.filter(action="api_key.rotated").count() == 1


def test_two_concurrent_creations_at_the_cap_make_one_key(committed, make_org, loose_rates) -> None:
    org = make_org("acme").on_plan("starter")
    ApiKey.objects.bulk_create(
        ApiKey(
            tenant=org.tenant,
            name=f"k{n}",
            prefix="sk_test_x",
            key_hash=f"{n:064d}",
            scopes="read",
            created_by_id=org.user.pk,
        )
        for n in range(MAX_ACTIVE_KEYS - 1)
    )
    token = org.client._credentials["HTTP_AUTHORIZATION"]

    def create() -> int:
        client = client_for(org.tenant)
        client.credentials(HTTP_AUTHORIZATION=token)
        body = {"name": "last", "scopes": ["read"]}
        return client.post(PATH, body, format="json").status_code

    assert sorted(at_once(create, create)) == [201, 409]
    assert ApiKey.objects.filter(tenant=org.tenant).count() == MAX_ACTIVE_KEYS


def test_without_redis_keys_work_from_the_rows_and_revocation_still_applies(
    acme, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    acme.on_plan("starter")
    made = api_key(acme)
    # Refused at once, without retries (redis-py's default retries back off for seconds).
    unreachable = redis.Redis(port=free_port(), retry=Retry(NoBackoff(), 0))
    for module in (apikeys_cache, prefetch, throttling):
        monkeypatch.setattr(module, "redis_client", lambda: unreachable)
    client = key_client(acme, made["key"])
    assert [client.get(PROJECTS).status_code for _ in range(2)] == [200, 200]
    with django_capture_on_commit_callbacks(execute=True):
        assert acme.client.delete(f"{PATH}{made['id']}/").status_code == 204
    assert_error(client.get(PROJECTS), 401, "api_key_invalid")
