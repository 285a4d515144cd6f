"""Tasks: CRUD, assignee rules, roles, isolation from another tenant, filters, search,
ordering and cursor pagination."""

import base64
import datetime as dt
import json

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from saas.workspace.models import Task

URL = "/api/v1/projects/{}/tasks/"


def test_task_crud_round_trip(acme, make_member) -> None:
    project = acme.project()
    colleague = make_member(acme.tenant)
    created = acme.client.post(
        URL.format(project.pk),
        {"title": "Write", "priority": 4, "due_date": "2026-03-01", "assignee": colleague.pk},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "todo"
    assert (body["priority"], body["assignee"], body["created_by"]) == (
        4,
        colleague.pk,
        acme.user.pk,
    )
    assert body["project"] == project.pk
    detail = f"{URL.format(project.pk)}{body['id']}/"
    assert created["Location"] == f"http://acme.localhost{detail}"

    patched = acme.client.patch(detail, {"status": "done", "assignee": None}, format="json")
    assert patched.status_code == 200
    assert (patched.json()["status"], patched.json()["assignee"]) == ("done", None)
    assert acme.client.get(detail).json()["status"] == "done"

    assert acme.client.delete(detail).status_code == 204
    assert acme.client.get(detail).status_code == 404
    with acme.tenant:
        assert not Task.objects.exists()


def test_archived_tasks_are_hidden_unless_asked_for(acme) -> None:
    project = acme.project()
    keep, old = acme.tasks(project, "keep", "old")
    detail = f"{URL.format(project.pk)}{old.pk}/"
    archived = acme.client.patch(detail, {"archived": True}, format="json").json()
    assert archived["archived_at"] is not None

    def titles(query: str = "") -> list[str]:
        return [
            t["title"] for t in acme.client.get(URL.format(project.pk) + query).json()["results"]
        ]

    assert titles() == ["keep"]
    assert titles("?archived=true") == ["old"]
    acme.client.patch(detail, {"archived": False}, format="json")
    assert sorted(titles()) == ["keep", "old"]


def test_assignee_must_be_a_member_of_this_tenant(acme, beta, make_member) -> None:
    project = acme.project()
    outsider = beta.user  # a member of another tenant only
    for assignee in (outsider.pk, 987654321):
        response = acme.client.post(
            URL.format(project.pk), {"title": "x", "assignee": assignee}, format="json"
        )
        assert response.status_code == 400
        assert list(response.json()["error"]["fields"]) == ["assignee"]
    task = acme.tasks(project, "t")[0]
    response = acme.client.patch(
        f"{URL.format(project.pk)}{task.pk}/", {"assignee": outsider.pk}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["assignee"]
    with acme.tenant:
        assert Task.objects.count() == 1
        assert Task.objects.get().assignee_id is None


def test_other_tenants_ids_are_404_never_403(acme, beta) -> None:
    # Beta's ids run past Acme's (each schema has its own sequences).
    beta.project()
    beta_project = beta.project(name="beta's")
    beta_task = beta.tasks(beta_project, "s1", "s2", "secret")[-1]
    acme_project = acme.project()
    acme.tasks(acme_project, "mine")
    requests = [
        (f"/api/v1/projects/{beta_project.pk}/", {"name": "x"}),
        (f"/api/v1/projects/{beta_project.pk}/tasks/", None),
        (f"{URL.format(acme_project.pk)}{beta_task.pk}/", {"title": "x"}),
    ]
    for path, body in requests:
        assert acme.client.get(path).status_code == 404, path
        if body is not None:
            assert acme.client.patch(path, body, format="json").status_code == 404, path
            assert acme.client.delete(path).status_code == 404, path
        else:
            assert acme.client.post(path, {"title": "x"}, format="json").status_code == 404
    assert acme.client.get(f"{URL.format(acme_project.pk)}{'9' * 30}/").status_code == 404
    with beta.tenant:
        assert Task.objects.get(pk=beta_task.pk).title == "secret"
        assert Task.objects.count() == 3


def test_task_under_another_project_is_404(acme) -> None:
    one, two = acme.project(name="one"), acme.project(name="two")
    task = acme.tasks(one, "t")[0]
    assert acme.client.get(f"{URL.format(two.pk)}{task.pk}/").status_code == 404
    assert acme.client.delete(f"{URL.format(two.pk)}{task.pk}/").status_code == 404
    with acme.tenant:
        assert Task.objects.filter(pk=task.pk).exists()


def test_viewer_reads_but_cannot_write(make_org) -> None:
    org = make_org("acme", role=Role.VIEWER)
    project = org.project()
    task = org.tasks(project, "t")[0]
    detail = f"{URL.format(project.pk)}{task.pk}/"
    assert org.client.get(URL.format(project.pk)).status_code == 200
    assert org.client.get(detail).status_code == 200
    refused = [
        org.client.post(URL.format(project.pk), {"title": "x"}, format="json"),
        org.client.patch(detail, {"title": "x"}, format="json"),
        org.client.delete(detail),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert refused[0].json()["error"]["code"] == "permission_denied"
    with org.tenant:
        assert Task.objects.get().title == "t"


def test_admin_edits_what_a_member_created(acme, make_member, client_for) -> None:
    project = acme.project()
    task = acme.tasks(project, "t")[0]
    admin = client_for(acme.tenant, make_member(acme.tenant, role=Role.ADMIN))
    response = admin.patch(f"{URL.format(project.pk)}{task.pk}/", {"title": "u"}, format="json")
    assert response.status_code == 200
    assert response.json()["title"] == "u"


def test_bad_input_is_400_naming_the_field(acme) -> None:
    project = acme.project()
    cases = [
        ({"title": "x", "status": "doing"}, "status"),
        ({"title": "x", "priority": 9}, "priority"),
        ({"title": "x", "due_date": "tomorrow"}, "due_date"),
        ({"title": 5}, "title"),
        ({"description": "no title"}, "title"),
        ({"title": "x", "project": 3}, "project"),
        ({"title": "x", "created_by": 3}, "created_by"),
        ({"title": "x", "id": 3}, "id"),
    ]
    for body, field in cases:
        response = acme.client.post(URL.format(project.pk), body, format="json")
        assert response.status_code == 400, body
        assert field in response.json()["error"]["fields"], body
    with acme.tenant:
        assert not Task.objects.exists()


# ---- filters, search, ordering ------------------------------------------------------------


def _titles(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [t["title"] for t in response.json()["results"]]


def test_filters_combine(acme, make_member) -> None:
    project, other = acme.project(), acme.project(name="other")
    bob = make_member(acme.tenant)
    acme.tasks(project, "a", status="done", due_date=dt.date(2026, 1, 10), assignee=bob)
    acme.tasks(project, "b", status="todo", due_date=dt.date(2026, 2, 10), assignee=bob)
    acme.tasks(project, "c", status="todo")
    acme.tasks(other, "elsewhere", status="todo")
    get = acme.client.get
    base = URL.format(project.pk)

    assert sorted(_titles(get(base))) == ["a", "b", "c"]
    assert sorted(_titles(get(base + "?status=todo"))) == ["b", "c"]
    assert sorted(_titles(get(base + f"?assignee={bob.pk}"))) == ["a", "b"]
    assert _titles(get(base + "?due_before=2026-01-10")) == ["a"]
    assert _titles(get(base + "?due_after=2026-01-11")) == ["b"]
    assert _titles(get(base + f"?status=todo&assignee={bob.pk}")) == ["b"]
    for bad in (
        "status=doing",
        "due_before=soon",
        "assignee=me",
        "ordering=assignee",
        "page_size=0",
    ):
        response = get(f"{base}?{bad}")
        assert response.status_code == 400, bad
        assert bad.split("=")[0] in response.json()["error"]["fields"]


def test_search_matches_title_or_description(acme) -> None:
    project = acme.project()
    acme.tasks(project, "Fix login")
    acme.tasks(project, "Other", description="the LOGIN page")
    acme.tasks(project, "Unrelated")
    assert sorted(_titles(acme.client.get(URL.format(project.pk) + "?search=login"))) == [
        "Fix login",
        "Other",
    ]


def test_ordering_by_whitelisted_fields(acme) -> None:
    project = acme.project()
    acme.tasks(project, "low", priority=1, due_date=dt.date(2026, 5, 1))
    acme.tasks(project, "urgent", priority=4)
    acme.tasks(project, "high", priority=3, due_date=dt.date(2026, 4, 1))
    base = URL.format(project.pk)
    assert _titles(acme.client.get(base + "?ordering=-priority")) == ["urgent", "high", "low"]
    assert _titles(acme.client.get(base + "?ordering=title")) == ["high", "low", "urgent"]
    # No due date sorts last.
    assert _titles(acme.client.get(base + "?ordering=due_date")) == ["high", "low", "urgent"]
    assert _titles(acme.client.get(base)) == ["high", "urgent", "low"]  # newest first


# ---- cursor pagination --------------------------------------------------------------------


def _walk(client, url: str) -> list[list[str]]:
    pages = []
    while url:
        body = client.get(url).json()
        pages.append([t["title"] for t in body["results"]])
        url = body["next"]
    return pages


def test_cursor_pages_cover_every_row_once_in_both_directions(acme) -> None:
    project = acme.project()
    # Equal priorities make the id the tiebreaker across page boundaries.
    acme.tasks(project, *[f"t{i:02}" for i in range(7)], priority=2)
    base = URL.format(project.pk) + "?ordering=priority&page_size=3"
    pages = _walk(acme.client, base)
    assert pages == [["t00", "t01", "t02"], ["t03", "t04", "t05"], ["t06"]]

    first = acme.client.get(base).json()
    assert first["previous"] is None
    second = acme.client.get(first["next"]).json()
    back = acme.client.get(second["previous"]).json()
    assert [t["title"] for t in back["results"]] == ["t00", "t01", "t02"]
    last = acme.client.get(second["next"]).json()
    assert last["next"] is None
    assert last["previous"] is not None


def test_cursor_pagination_by_nullable_due_date(acme) -> None:
    project = acme.project()
    acme.tasks(project, "d1", due_date=dt.date(2026, 1, 1))
    acme.tasks(project, "n1", "n2")
    acme.tasks(project, "d2", due_date=dt.date(2026, 1, 2))
    pages = _walk(acme.client, URL.format(project.pk) + "?ordering=due_date&page_size=1")
    assert pages == [["d1"], ["d2"], ["n1"], ["n2"]]


def test_empty_list_and_page_size_cap(acme, settings) -> None:
    project = acme.project()
    empty = acme.client.get(URL.format(project.pk)).json()
    assert empty == {"next": None, "previous": None, "results": []}
    with acme.tenant:
        Task.objects.bulk_create(
            Task(project=project, title=f"t{i}") for i in range(settings.API_MAX_PAGE_SIZE + 2)
        )
    body = acme.client.get(URL.format(project.pk) + "?page_size=100000").json()
    assert len(body["results"]) == settings.API_MAX_PAGE_SIZE
    assert body["next"]
    default = acme.client.get(URL.format(project.pk)).json()
    assert len(default["results"]) == settings.API_PAGE_SIZE


def _cursor(**fields: object) -> str:
    raw = {"o": "-created_at", "v": "2026-01-01T00:00:00+00:00", "id": 1, "r": False, **fields}
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode()


def test_bad_cursor_is_400(acme) -> None:
    project = acme.project()
    acme.tasks(project, "a", "b")
    base = URL.format(project.pk)
    good = acme.client.get(base + "?page_size=1").json()["next"]
    real = good.split("cursor=")[1].split("&")[0]
    assert acme.client.get(f"{base}?cursor={real}").status_code == 200
    bad = [
        ("garbage", ""),
        ("%%%", ""),
        (_cursor(v="yesterday"), ""),
        (_cursor(id=10**20), ""),
        (_cursor(id="1"), ""),
        (_cursor(o="title", v="a\x00"), "&ordering=title"),
        (_cursor(o="priority", v=10**12), "&ordering=priority"),
        (real, "&ordering=title"),  # a real cursor, but of another ordering
    ]
    for cursor, ordering in bad:
        response = acme.client.get(f"{base}?cursor={cursor}{ordering}")
        assert response.status_code == 400, cursor
        assert response.json()["error"]["code"] == "invalid_cursor"


def test_list_costs_the_same_queries_for_1_and_20_tasks(acme, make_member) -> None:
    project = acme.project()
    people = [make_member(acme.tenant) for _ in range(3)]
    acme.tasks(project, "only")
    url = URL.format(project.pk)
    acme.client.get(url)  # warm the tenant host and member caches
    with CaptureQueriesContext(connection) as one:
        assert acme.client.get(url).status_code == 200
    for i in range(19):
        acme.tasks(project, f"t{i}", assignee=people[i % 3])
    with CaptureQueriesContext(connection) as twenty:
        assert len(acme.client.get(url).json()["results"]) == 20
    assert len(twenty) == len(one), [q["sql"] for q in twenty.captured_queries]
