"""Every list answers the same envelope: {"results": [...], "next": url|null, "previous":
url|null}, plus "count" where the list is paginated by page number (cursor lists skip the
COUNT). The walk takes every list operation of the OpenAPI schema, checks what the schema
says and calls the route for real."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from accounts.models import Role
from saas.webhooks_out.models import WebhookEndpoint
from tenants.models import Tenant
from tests.factories import Org

PUBLIC = {"/api/v1/plans/"}
ENVELOPE = {"next", "previous", "results"}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator(urlconf="config.urls").get_schema(request=None, public=True)


def _ok_schema(schema: dict, operation: dict) -> dict:
    content = operation["responses"].get("200", {}).get("content", {})
    found = content.get("application/json", {}).get("schema", {})
    ref = found.get("$ref", "")
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else found


def list_operations(schema: dict) -> dict[str, dict]:
    """path -> the 200 schema of every GET that lists: named `_list` (drf-spectacular's and
    our convention), answering an array, or answering `results`."""
    found = {}
    for path, item in schema["paths"].items():
        operation = item.get("get")
        if operation is None:
            continue
        ok = _ok_schema(schema, operation)
        if (
            operation["operationId"].endswith("_list")
            or ok.get("type") == "array"
            or "results" in ok.get("properties", {})
        ):
            found[path] = ok
    return found


def test_the_walk_finds_every_list(schema: dict) -> None:
    assert set(list_operations(schema)) >= {
        "/api/v1/plans/",
        "/api/v1/projects/",
        "/api/v1/projects/{project_id}/tasks/",
        "/api/v1/members/",
        "/api/v1/invitations/",
        "/api/v1/billing/invoices/",
        "/api/v1/audit-log/",
        "/api/v1/oauth/applications/",
    }


def test_every_list_documents_the_envelope(schema: dict) -> None:
    wrong = {
        path: ok
        for path, ok in list_operations(schema).items()
        if ok.get("type") != "object"
        or not ENVELOPE <= set(ok.get("properties", {}))
        or not ENVELOPE <= set(ok.get("required", []))
        or ok["properties"]["results"].get("type") != "array"
    }
    assert wrong == {}


def test_every_list_answers_the_envelope(schema: dict, make_org, client_for) -> None:
    owner: Org = make_org("acme", role=Role.OWNER).on_plan("pro")  # the audit log too
    project = owner.project()
    owner.tasks(project, "one", "two")
    with owner.tenant:
        endpoint = WebhookEndpoint.objects.create(
            url="https://hooks.example.com/", event_types=["task.*"], secret_encrypted="-"
        )
    checked = []
    for path, documented in list_operations(schema).items():
        url = path.format(project_id=project.pk, endpoint_id=endpoint.pk)
        client = client_for(None) if path in PUBLIC else owner.client
        response = client.get(url + "?page_size=1")
        assert response.status_code == 200, (path, response.content)
        body = response.json()
        assert isinstance(body, dict), path
        documented_keys = set(documented["properties"])
        assert set(body) == documented_keys, path
        assert ENVELOPE <= set(body), path
        assert isinstance(body["results"], list), path
        assert len(body["results"]) <= 1, path
        for link in ("next", "previous"):
            assert body[link] is None or body[link].startswith("http"), (path, link)
        if "count" in body:
            assert isinstance(body["count"], int), path
        checked.append(path)
    assert "/api/v1/plans/" in checked
    assert Tenant.objects.count() == 1


def test_the_plans_list_is_paginated_like_the_others(db, client_for) -> None:
    client = client_for(None)
    first = client.get("/api/v1/plans/?page_size=2").json()
    assert first["count"] == 4
    assert [plan["code"] for plan in first["results"]] == ["free", "starter"]
    assert first["previous"] is None
    second = client.get(first["next"]).json()
    assert [plan["code"] for plan in second["results"]] == ["pro", "scale"]
    assert second["next"] is None
    assert client.get("/api/v1/plans/?page=9").status_code == 404
