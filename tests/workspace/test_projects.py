"""Projects live in each tenant's own schema: isolation proved over real HTTP."""

from saas.workspace.models import Project
from tests.factories import PASSWORD


def test_tenants_see_only_their_own_projects_over_http(
    committed, start_server, make_tenant, make_member
) -> None:
    acme, beta = make_tenant("acme"), make_tenant("beta")
    alice, bob = make_member(acme), make_member(beta)
    server = start_server()
    as_alice = server.login("acme.localhost", alice.email, PASSWORD)
    as_bob = server.login("beta.localhost", bob.email, PASSWORD)

    created = server.post(
        "/api/v1/projects/", "acme.localhost", json={"name": "Rocket"}, auth=as_alice
    )
    assert created.status_code == 201, created.text
    server.post("/api/v1/projects/", "beta.localhost", json={"name": "Balloon"}, auth=as_bob)

    acme_list = server.get("/api/v1/projects/", "acme.localhost", auth=as_alice).json()
    beta_list = server.get("/api/v1/projects/", "beta.localhost", auth=as_bob).json()
    assert [p["name"] for p in acme_list["results"]] == ["Rocket"]
    assert [p["name"] for p in beta_list["results"]] == ["Balloon"]

    # Alice's token does not open Beta's host, for reading or writing.
    assert server.get("/api/v1/projects/", "beta.localhost", auth=as_alice).status_code == 401
    refused = server.post("/api/v1/projects/", "beta.localhost", json={"name": "x"}, auth=as_alice)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "token_wrong_tenant"
    with beta:
        assert list(Project.objects.values_list("name", flat=True)) == ["Balloon"]
    with acme:
        assert list(Project.objects.values_list("name", flat=True)) == ["Rocket"]


def test_public_host_serves_no_tenant_resources(db, client_for, make_tenant, make_member) -> None:
    tenant = make_tenant("acme")
    client = client_for(tenant, make_member(tenant))
    client.defaults["HTTP_HOST"] = "localhost"
    assert client.get("/api/v1/projects/").status_code == 404


def test_create_records_the_creator_and_ignores_nothing_silently(
    db, client_for, make_tenant, make_member
) -> None:
    tenant = make_tenant("acme")
    user = make_member(tenant)
    client = client_for(tenant, user)

    response = client.post("/api/v1/projects/", {"name": "A", "description": "d"}, format="json")
    assert response.status_code == 201
    assert response.json()["created_by"] == user.pk

    forged = client.post(
        "/api/v1/projects/", {"name": "B", "created_by": 999, "id": 5}, format="json"
    )
    assert forged.status_code == 400
    assert set(forged.json()["error"]["fields"]) == {"created_by", "id"}
