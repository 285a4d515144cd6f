from saas.workspace.models import Project


def test_page_size_is_capped(db, client_for, make_tenant, make_member, settings) -> None:
    tenant = make_tenant("acme")
    user = make_member(tenant)
    with tenant:
        Project.objects.bulk_create(
            Project(name=f"p{i}", created_by=user) for i in range(settings.API_MAX_PAGE_SIZE + 5)
        )

    body = client_for(tenant, user).get("/api/v1/projects/?page_size=100000").json()

    assert body["count"] == settings.API_MAX_PAGE_SIZE + 5
    assert len(body["results"]) == settings.API_MAX_PAGE_SIZE
    assert body["next"]


def test_default_page_size_and_out_of_range_page(
    db, client_for, make_tenant, make_member, settings
) -> None:
    tenant = make_tenant("acme")
    user = make_member(tenant)
    with tenant:
        Project.objects.bulk_create(Project(name=f"p{i}") for i in range(25))
    client = client_for(tenant, user)
    assert len(client.get("/api/v1/projects/").json()["results"]) == settings.API_PAGE_SIZE
    response = client.get("/api/v1/projects/?page=99")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
