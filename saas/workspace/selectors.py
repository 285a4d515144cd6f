"""Reads of the current tenant's projects and tasks (the connection's schema is the tenant's:
an id of another tenant simply does not exist here, so it is a 404, never a 403)."""

import datetime as dt

from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Coalesce

from .models import Project, Task

# What `?ordering=` accepts (optionally with a leading "-"); anything else is a 400.
PROJECT_ORDERING_FIELDS = ("created_at", "updated_at", "name")
TASK_ORDERING_FIELDS = ("created_at", "updated_at", "due_date", "priority", "title", "status")
# Tasks without a due date sort after every dated one (the cursor needs a non-null key).
_NO_DUE_DATE = dt.date(9999, 12, 31)


def _search(queryset: QuerySet, search: str | None, *fields: str) -> QuerySet:
    if not search:
        return queryset
    match = Q()
    for field in fields:
        match |= Q(**{f"{field}__icontains": search})
    return queryset.filter(match)


def project_list(
    *, archived: bool = False, search: str | None = None, ordering: str = "-created_at"
) -> QuerySet[Project]:
    """Live projects (or only the archived ones), matching `search` in name or description."""
    queryset = Project.objects.filter(archived_at__isnull=not archived)
    queryset = _search(queryset, search, "name", "description")
    tiebreak = "-id" if ordering.startswith("-") else "id"
    return queryset.order_by(ordering, tiebreak)


def project_get(*, project_id: int) -> Project:
    return Project.objects.get(pk=project_id)


def task_list(
    *,
    project_id: int,
    archived: bool = False,
    status: str | None = None,
    assignee: int | None = None,
    due_before: dt.date | None = None,
    due_after: dt.date | None = None,
    search: str | None = None,
) -> QuerySet[Task]:
    """A project's tasks; the 404 for an unknown project comes first. Due bounds are
    inclusive. `sort_due_date` is the non-null sort key of `?ordering=due_date`."""
    if not Project.objects.filter(pk=project_id).exists():
        raise Project.DoesNotExist
    queryset = Task.objects.filter(project_id=project_id, archived_at__isnull=not archived)
    if status is not None:
        queryset = queryset.filter(status=status)
    if assignee is not None:
        queryset = queryset.filter(assignee_id=assignee)
    if due_before is not None:
        queryset = queryset.filter(due_date__lte=due_before)
    if due_after is not None:
        queryset = queryset.filter(due_date__gte=due_after)
    queryset = _search(queryset, search, "title", "description")
    return queryset.annotate(sort_due_date=Coalesce("due_date", Value(_NO_DUE_DATE)))


def task_sort_field(ordering: str) -> str:
    field = ordering.lstrip("-")
    return "sort_due_date" if field == "due_date" else field


def task_get(*, project_id: int, task_id: int) -> Task:
    return Task.objects.get(project_id=project_id, pk=task_id)
