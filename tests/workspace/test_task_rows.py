"""The task list's fast path (issue 14): rows instead of model instances, serialised by
task_rows_output instead of TaskOutput, and the project's existence only queried when the
page is empty. Each shortcut is checked against what it replaces, so the two cannot drift:
the same JSON byte for byte, the same cursors, the same 404s."""

import datetime as dt
import zoneinfo
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from api.pagination import KeysetCursorPagination
from saas.workspace import selectors
from saas.workspace.models import Project, Task, TaskPriority, TaskStatus
from saas.workspace.serializers import TaskOutput, task_rows_output

URL = "/api/v1/projects/{}/tasks/"
ORDERINGS = [o for field in selectors.TASK_ORDERING_FIELDS for o in (field, f"-{field}")]
ZONES = ["UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu", "Pacific/Kiritimati"]


def _json(data: Any) -> bytes:
    return JSONRenderer().render(data)


def _cursor_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["cursor"][0]


def _varied_tasks(org, make_member) -> Project:
    """Every status and priority, with and without due date, assignee and creator, live
    and archived, with microsecond timestamps (some stored from non-UTC offsets)."""
    project = org.project()
    other = make_member(org.tenant)
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    with org.tenant:
        for i, (status, priority) in enumerate(
            (s, p) for s in TaskStatus.values for p in TaskPriority.values
        ):
            task = Task.objects.create(
                project=project,
                title=f't{i} ünïcode "quoted" </script> \u2028',
                description="" if i % 2 else "line one\nline two\ttab",
                status=status,
                priority=priority,
                due_date=dt.date(2026, 1 + i % 12, 1 + i) if i % 3 else None,
                assignee=(org.user, other, None)[i % 3],
                created_by=None if i % 4 == 0 else org.user,
            )
            Task.objects.filter(pk=task.pk).update(
                created_at=dt.datetime(2025, 3, 30, 0, 59, 59, 999_999 - i, tzinfo=dt.UTC),
                updated_at=dt.datetime(2025, 10, 26, 2, 30, i, 123_456, tzinfo=berlin),
                archived_at=(
                    dt.datetime(2026, 2, 28, 23, 0, 0, i, tzinfo=dt.UTC) if i % 5 == 0 else None
                ),
            )
        # A due date at the end of the calendar, a timestamp without microseconds.
        Task.objects.create(
            project=project, title="edge", due_date=dt.date(9999, 12, 31), assignee=other
        )
        Task.objects.filter(title="edge").update(
            created_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
            archived_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
        )
    return project


def _rows(project: Project) -> list[dict[str, Any]]:
    rows = [
        *selectors.task_rows(project_id=project.pk),
        *selectors.task_rows(project_id=project.pk, archived=True),
    ]
    return sorted(rows, key=lambda row: row["id"])


def test_task_rows_output_is_task_outputs_json_byte_for_byte(acme, make_member) -> None:
    project = _varied_tasks(acme, make_member)
    for zone in ZONES:
        with acme.tenant, timezone.override(zone):
            rows = _rows(project)
            tasks = list(Task.objects.filter(project=project).order_by("id"))
            assert len(rows) == len(tasks) == 3 * 4 + 1
            assert [row["id"] for row in rows] == [task.pk for task in tasks]
            expected = _json(TaskOutput(tasks, many=True).data)
            assert _json(task_rows_output(rows)) == expected, zone
            for row, task in zip(rows, tasks, strict=True):  # one at a time, too
                assert _json(task_rows_output([row])[0]) == _json(TaskOutput(task).data)


def _row(**fields: Any) -> dict[str, Any]:
    moment = dt.datetime(2026, 5, 17, 12, 0, 0, 5, tzinfo=dt.UTC)
    return {
        "id": 1,
        "project_id": 2,
        "title": "t",
        "description": "",
        "status": "done",
        "priority": 4,
        "due_date": None,
        "assignee_id": None,
        "created_by_id": None,
        "created_at": moment,
        "updated_at": moment,
        "archived_at": None,
        **fields,
    }


ODD_ROWS = [
    _row(),
    _row(created_at=dt.datetime(2026, 5, 17, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-3)))),
    _row(updated_at=dt.datetime(2026, 5, 17, 12, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))),
    _row(archived_at=dt.datetime(2026, 5, 17, 12, 0, 0, 1)),  # noqa: DTZ001 (naive)
    _row(due_date=dt.date(1, 1, 1), status="unknown", priority=9),  # values outside choices
]


@pytest.mark.parametrize(
    "settings_",
    [
        {},
        {"USE_TZ": False},
        {"REST_FRAMEWORK": {"DATETIME_FORMAT": "%Y-%m-%d %H:%M", "DATE_FORMAT": "%d.%m.%Y"}},
        {"REST_FRAMEWORK": {"DATETIME_FORMAT": "iso-8601", "DATE_FORMAT": None}},
    ],
)
def test_task_rows_output_follows_the_settings_task_output_follows(settings_) -> None:
    """Rows given by hand: aware datetimes of other offsets, a naive one, values outside the
    choices, and other DRF output settings (where task_rows_output defers to TaskOutput)."""
    from django.conf import settings

    overrides = dict(settings_)
    if "REST_FRAMEWORK" in overrides:
        overrides["REST_FRAMEWORK"] = {**settings.REST_FRAMEWORK, **overrides["REST_FRAMEWORK"]}
    with override_settings(**overrides):
        for zone in ZONES:
            with timezone.override(zone):
                expected = _json(TaskOutput(ODD_ROWS, many=True).data)
                assert _json(task_rows_output(ODD_ROWS)) == expected, (settings_, zone)


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_cursors_from_rows_are_the_cursors_from_model_instances(acme, ordering) -> None:
    project = acme.project()
    acme.tasks(project, *"abcde", priority=TaskPriority.HIGH, due_date=dt.date(2026, 1, 2))
    acme.tasks(project, *"fgh")
    sort_field = selectors.task_sort_field(ordering)
    factory = APIRequestFactory()

    def links(queryset, query: dict[str, str]) -> tuple[list[int], str | None, str | None]:
        paginator = KeysetCursorPagination()
        request = Request(factory.get(URL.format(project.pk), {"page_size": "3", **query}))
        rows = paginator.paginate_queryset(
            queryset, request, ordering=ordering, sort_field=sort_field
        )
        ids = [row["id"] if isinstance(row, dict) else row.pk for row in rows]
        return ids, paginator.get_next_link(), paginator.get_previous_link()

    with acme.tenant:
        instances = Task.objects.filter(project=project, archived_at__isnull=True).annotate(
            sort_due_date=Coalesce("due_date", Value(dt.date(9999, 12, 31)))
        )
        rows = selectors.task_rows(project_id=project.pk)
        query: dict[str, str] = {}
        pages = 0
        while True:
            expected = links(instances, query)
            assert links(rows, query) == expected, (ordering, query)
            ids, following, previous = expected
            if previous and query:  # and back again, through the previous link
                back = _cursor_of(previous)
                assert links(rows, {"cursor": back}) == links(instances, {"cursor": back})
            pages += 1
            if following is None:
                break
            query = {"cursor": _cursor_of(following)}
        assert pages == 3


def test_a_page_with_rows_does_not_query_the_project(acme) -> None:
    project = acme.project()
    acme.tasks(project, "a", "b")
    url = URL.format(project.pk)
    acme.client.get(url)  # warm the host and member caches
    with CaptureQueriesContext(connection) as page:
        assert len(acme.client.get(url).json()["results"]) == 2
    assert not [q["sql"] for q in page.captured_queries if "workspace_project" in q["sql"]]
    with acme.tenant:
        Task.objects.all().delete()
    with CaptureQueriesContext(connection) as empty:
        assert acme.client.get(url).json()["results"] == []
    assert [q["sql"] for q in empty.captured_queries if "workspace_project" in q["sql"]]


def test_an_unknown_project_is_the_same_404_whatever_the_query(acme, beta) -> None:
    project = acme.project()
    acme.tasks(project, "a", "b")
    following = acme.client.get(URL.format(project.pk) + "?page_size=1").json()["next"]
    cursor = following.split("cursor=")[1]  # as the link has it, URL-encoded
    other = [beta.project() for _ in range(3)][-1]  # another tenant's project: not here
    beta.tasks(other, "theirs")
    assert other.pk != project.pk
    missing = [URL.format(other.pk), URL.format(10**15)]
    queries = ["", "?ordering=title", f"?cursor={cursor}", "?cursor=garbage", "?page_size=1"]
    for url in missing:
        for query in queries:
            response = acme.client.get(url + query)
            assert response.status_code == 404, url + query
            error = response.json()["error"]
            assert (error["code"], error["message"]) == ("not_found", "Not found."), query
    # A query the schema refuses is still a 400 first, as before.
    assert acme.client.get(missing[0] + "?status=bogus").status_code == 400


def test_an_existing_project_with_no_rows_on_the_page_is_200(acme) -> None:
    project = acme.project()
    url = URL.format(project.pk)
    assert acme.client.get(url).json() == {"next": None, "previous": None, "results": []}
    assert acme.client.get(url + "?archived=true").json()["results"] == []
    acme.tasks(project, "a", "b")
    following = acme.client.get(url + "?page_size=1").json()["next"]
    with acme.tenant:
        Task.objects.filter(title="a").delete()  # the one row after the cursor (newest first)
    past_the_end = acme.client.get(following)  # a cursor past the last row
    assert past_the_end.status_code == 200
    assert past_the_end.json()["results"] == []
    assert acme.client.get(url + "?status=done").json()["results"] == []


def test_an_archived_projects_tasks_are_listed_as_before(acme) -> None:
    project = acme.project(archived_at=timezone.now())
    acme.tasks(project, "a")
    response = acme.client.get(URL.format(project.pk))
    assert response.status_code == 200
    assert [t["title"] for t in response.json()["results"]] == ["a"]


def test_an_empty_query_string_lists_what_the_explicit_defaults_list(acme) -> None:
    project = acme.project()
    acme.tasks(project, *"abc")
    acme.tasks(project, "archived", archived_at=timezone.now())
    url = URL.format(project.pk)
    plain = acme.client.get(url)
    explicit = acme.client.get(url + "?archived=false&ordering=-created_at")
    assert plain.status_code == explicit.status_code == 200
    assert plain.json()["results"] == explicit.json()["results"]
    assert [t["title"] for t in plain.json()["results"]] == ["c", "b", "a"]
