"""REST conventions on the workspace endpoints: ETag / If-None-Match / If-Match,
Idempotency-Key, 405 with Allow, 413, 429, Location."""

import threading
from types import SimpleNamespace

import pytest
from django.db import connection
from django_redis.cache import RedisCache

from api import conventions
from billing import throttling
from billing.models import BillingAccount, Plan
from saas.workspace import services
from saas.workspace.models import Project, Task
from tests.support.processes import free_port

TASKS = "/api/v1/projects/{}/tasks/"


def _plan_of(org) -> Plan:
    return BillingAccount.objects.get(tenant=org.tenant).plan


@pytest.fixture
def task_url(acme) -> str:
    project = acme.project()
    task = acme.tasks(project, "t")[0]
    return f"{TASKS.format(project.pk)}{task.pk}/"


# ---- ETag ----------------------------------------------------------------------------------


def test_if_none_match_answers_304_until_the_task_changes(acme, task_url) -> None:
    first = acme.client.get(task_url)
    etag = first["ETag"]
    assert etag.startswith('"')

    unchanged = acme.client.get(task_url, HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged["ETag"] == etag

    acme.client.patch(task_url, {"title": "u"}, format="json")
    changed = acme.client.get(task_url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert changed.json()["title"] == "u"


def test_stale_if_match_is_412_and_changes_nothing(acme, task_url) -> None:
    etag = acme.client.get(task_url)["ETag"]
    fresh = acme.client.patch(task_url, {"title": "mine"}, format="json", HTTP_IF_MATCH=etag)
    assert fresh.status_code == 200
    assert fresh["ETag"] != etag

    stale = acme.client.patch(task_url, {"title": "theirs"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "precondition_failed"
    stale_delete = acme.client.delete(task_url, HTTP_IF_MATCH=etag)
    assert stale_delete.status_code == 412
    with acme.tenant:
        assert Task.objects.get().title == "mine"

    assert acme.client.delete(task_url, HTTP_IF_MATCH=fresh["ETag"]).status_code == 204


def test_if_match_is_optional_and_star_matches(acme) -> None:
    project = acme.project()
    url = f"/api/v1/projects/{project.pk}/"
    assert acme.client.patch(url, {"name": "a"}, format="json").status_code == 200
    assert (
        acme.client.patch(url, {"name": "b"}, format="json", HTTP_IF_MATCH="*").status_code == 200
    )
    stale = acme.client.patch(url, {"name": "c"}, format="json", HTTP_IF_MATCH='"nope"')
    assert stale.status_code == 412


# ---- Idempotency-Key ---------------------------------------------------------------------


def test_a_retried_create_returns_the_first_response_and_one_row(acme) -> None:
    project = acme.project()
    url = TASKS.format(project.pk)
    first = acme.client.post(url, {"title": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    retry = acme.client.post(url, {"title": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["Location"] == first["Location"]
    assert retry["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    with acme.tenant:
        assert Task.objects.filter(title="once").count() == 1

    other = acme.client.post(url, {"title": "twice"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]


def test_same_key_with_another_body_is_422(acme) -> None:
    project = acme.project()
    url = TASKS.format(project.pk)
    acme.client.post(url, {"title": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    reused = acme.client.post(url, {"title": "b"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    with acme.tenant:
        assert list(Task.objects.values_list("title", flat=True)) == ["a"]


def test_keys_are_scoped_per_user_and_tenant(acme, beta, make_member, client_for) -> None:
    colleague = client_for(acme.tenant, make_member(acme.tenant))
    body = {"name": "same"}
    for client in (acme.client, colleague, beta.client):
        response = client.post("/api/v1/projects/", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
        assert response.status_code == 201
        assert not response.has_header("Idempotent-Replayed")
    with acme.tenant:
        assert Project.objects.count() == 2
    with beta.tenant:
        assert Project.objects.count() == 1


def test_a_failed_create_is_not_kept_and_can_be_retried(acme) -> None:
    plan = _plan_of(acme)
    plan.projects_limit = 0
    plan.save()
    refused = acme.client.post(
        "/api/v1/projects/", {"name": "p"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert refused.status_code == 402
    plan.projects_limit = 5
    plan.save()
    retried = acme.client.post(
        "/api/v1/projects/", {"name": "p"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert retried.status_code == 201
    assert not retried.has_header("Idempotent-Replayed")


def test_bad_idempotency_key_is_400(acme) -> None:
    response = acme.client.post(
        "/api/v1/projects/", {"name": "p"}, format="json", HTTP_IDEMPOTENCY_KEY="x" * 256
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    with acme.tenant:
        assert not Project.objects.exists()


def test_concurrent_requests_with_one_key_create_one_row(committed, make_org, monkeypatch) -> None:
    acme = make_org("acme")
    second_is_waiting = threading.Event()
    real_wait, real_create = conventions._wait_for_first, services.project_create

    def wait(result_key: str):
        second_is_waiting.set()
        return real_wait(result_key)

    def create(**kwargs):
        # The first request holds the key's lock until the second one is waiting on it.
        assert second_is_waiting.wait(timeout=20)
        return real_create(**kwargs)

    monkeypatch.setattr(conventions, "_wait_for_first", wait)
    monkeypatch.setattr(services, "project_create", create)
    responses = []

    def post() -> None:
        try:
            responses.append(
                acme.client.post(
                    "/api/v1/projects/", {"name": "p"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].json() == responses[1].json()
    assert sorted(r.has_header("Idempotent-Replayed") for r in responses) == [False, True]
    with acme.tenant:
        assert Project.objects.count() == 1


# ---- methods, sizes, rates -----------------------------------------------------------------


def test_unsupported_method_is_405_with_allow(acme, task_url) -> None:
    put = acme.client.put(task_url, {"title": "x"}, format="json")
    assert put.status_code == 405
    assert put.json()["error"]["code"] == "method_not_allowed"
    allowed = {m.strip() for m in put["Allow"].split(",")}
    assert {"GET", "PATCH", "DELETE"} <= allowed
    assert "PUT" not in allowed
    post = acme.client.post(task_url, {"title": "x"}, format="json")
    assert post.status_code == 405
    listing = acme.client.delete(task_url.rsplit("/", 2)[0] + "/")
    assert listing.status_code == 405
    assert "POST" in listing["Allow"]


def test_oversized_body_is_413_and_creates_nothing(acme, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    project = acme.project()
    response = acme.client.post(TASKS.format(project.pk), {"title": "x" * 2000}, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    with acme.tenant:
        assert not Task.objects.exists()


def test_task_list_is_rate_limited_by_plan(acme, monkeypatch) -> None:
    monkeypatch.setattr(throttling, "time", SimpleNamespace(time=lambda: 1_800_000_010.0))
    project = acme.project()
    plan = _plan_of(acme)
    plan.api_requests_per_minute = 2
    plan.save()
    url = TASKS.format(project.pk)

    statuses = [acme.client.get(url).status_code for _ in range(2)]
    refused = acme.client.get(url)

    assert statuses == [200, 200]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused["Retry-After"] == "51"


def test_with_redis_unreachable_a_keyed_create_is_503_and_creates_nothing(
    acme, monkeypatch
) -> None:
    unreachable = RedisCache(
        f"redis://127.0.0.1:{free_port()}/0",
        {"OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.2}},
    )
    monkeypatch.setattr(conventions, "cache", unreachable)
    keyed = acme.client.post(
        "/api/v1/projects/", {"name": "p"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert keyed.status_code == 503
    assert keyed.json()["error"]["code"] == "idempotency_unavailable"
    with acme.tenant:
        assert not Project.objects.exists()
    plain = acme.client.post("/api/v1/projects/", {"name": "p"}, format="json")
    assert plain.status_code == 201
