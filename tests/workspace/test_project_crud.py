"""Projects: read, update, archive, delete (with their tasks), filters, ordering, the plan's
project limit."""

from billing.models import BillingAccount
from saas.workspace.models import Project, Task


def test_project_read_update_archive_delete(acme) -> None:
    project = acme.project(name="Old", description="d")
    acme.tasks(project, "t1", "t2")
    url = f"/api/v1/projects/{project.pk}/"

    assert acme.client.get(url).json()["name"] == "Old"
    patched = acme.client.patch(url, {"name": "New"}, format="json")
    assert patched.status_code == 200
    assert (patched.json()["name"], patched.json()["description"]) == ("New", "d")

    assert acme.client.patch(url, {"archived": True}, format="json").json()["archived_at"]
    assert acme.client.get("/api/v1/projects/").json()["results"] == []
    archived = acme.client.get("/api/v1/projects/?archived=true").json()["results"]
    assert [p["name"] for p in archived] == ["New"]
    assert acme.client.get(url).status_code == 200  # archived projects can still be read

    deleted = acme.client.delete(url)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert acme.client.get(url).status_code == 404
    with acme.tenant:
        assert not Project.objects.exists()
        assert not Task.objects.exists()


def test_project_list_search_and_ordering(acme) -> None:
    for name, description in (("Beta", ""), ("alpha", "the rocket"), ("Gamma", "")):
        acme.project(name=name, description=description)

    def names(query: str) -> list[str]:
        response = acme.client.get("/api/v1/projects/" + query)
        assert response.status_code == 200, response.json()
        return [p["name"] for p in response.json()["results"]]

    assert names("") == ["Gamma", "alpha", "Beta"]
    assert names("?ordering=created_at") == ["Beta", "alpha", "Gamma"]
    assert names("?search=ROCKET") == ["alpha"]
    assert names("?search=a&ordering=-created_at") == ["Gamma", "alpha", "Beta"]
    bad = acme.client.get("/api/v1/projects/?ordering=description")
    assert bad.status_code == 400
    assert list(bad.json()["error"]["fields"]) == ["ordering"]


def test_over_the_plans_project_limit_is_402_and_creates_nothing(acme) -> None:
    plan = BillingAccount.objects.get(tenant=acme.tenant).plan
    plan.projects_limit = 1
    plan.save()
    assert acme.client.post("/api/v1/projects/", {"name": "one"}, format="json").status_code == 201

    refused = acme.client.post("/api/v1/projects/", {"name": "two"}, format="json")

    assert refused.status_code == 402
    assert refused.json()["error"]["code"] == "entitlement_exceeded"
    assert refused.json()["error"]["entitlement"] == "projects"
    with acme.tenant:
        assert list(Project.objects.values_list("name", flat=True)) == ["one"]


def test_project_writes_refuse_unknown_and_read_only_fields(acme) -> None:
    project = acme.project(name="keep")
    url = f"/api/v1/projects/{project.pk}/"
    for body in ({"id": 9}, {"created_by": 9}, {"created_at": "2020-01-01T00:00:00Z"}, {"x": 1}):
        response = acme.client.patch(url, body, format="json")
        assert response.status_code == 400, body
        assert list(response.json()["error"]["fields"]) == list(body)
    with acme.tenant:
        assert Project.objects.get().name == "keep"
