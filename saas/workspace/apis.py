"""Projects and their tasks: thin views over the workspace services and selectors.

Conventions (api.conventions): 201 + Location on create, ETag on reads, If-None-Match -> 304,
optional If-Match on PATCH/DELETE -> 412 when stale, Idempotency-Key on creates, 204 on
DELETE (a hard delete; archiving is PATCH {"archived": true}), 405 with Allow.
"""

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import Capability
from accounts.tenant_api import TenantApi
from api.conventions import (
    E304,
    E409_IDEMPOTENCY,
    E412,
    E422_IDEMPOTENCY,
    E503_IDEMPOTENCY,
    IDEMPOTENCY_KEY_PARAMETER,
    IF_MATCH_PARAMETER,
    IF_NONE_MATCH_PARAMETER,
    created_response,
    detail_response,
    idempotent_create,
    if_match_of,
)
from api.docs import E400, E402, ERRORS_READ, ERRORS_WRITE
from api.pagination import KeysetCursorPagination

from . import selectors, services
from .serializers import (
    PROJECT_ARCHIVE_EXAMPLE,
    PROJECT_CREATE_EXAMPLE,
    PROJECT_EXAMPLE,
    TASK_CREATE_EXAMPLE,
    TASK_EXAMPLE,
    TASK_UPDATE_EXAMPLE,
    ProjectCreateInput,
    ProjectListQuery,
    ProjectOutput,
    ProjectPage,
    ProjectUpdateInput,
    TaskCreateInput,
    TaskListQuery,
    TaskOutput,
    TaskPage,
    TaskUpdateInput,
    task_rows_output,
)

_RW = {
    "GET": Capability.RESOURCES_READ,
    "POST": Capability.RESOURCES_WRITE,
    "PATCH": Capability.RESOURCES_WRITE,
    "DELETE": Capability.RESOURCES_WRITE,
}
_DELETED = {204: OpenApiResponse(description="Deleted for good.")}
_WRITE_ROLES = " Viewers read; members, admins and owners write."


class ProjectListCreateApi(TenantApi):
    capabilities = _RW

    @extend_schema(
        tags=["projects"],
        summary="List projects",
        operation_id="projects_list",
        description="Projects of the organization whose host is called, newest first by "
        "default. Archived projects are hidden unless `archived=true`. Page-number pagination "
        "(`page`, `page_size` capped at API_MAX_PAGE_SIZE); a page past the end is a 404.",
        parameters=[ProjectListQuery],
        responses={200: ProjectPage, **ERRORS_READ, **E400},
    )
    def get(self, request: Request) -> Response:
        query = self.query(ProjectListQuery)
        query.pop("page", None), query.pop("page_size", None)
        return self.paginate(selectors.project_list(**query), ProjectOutput)

    @extend_schema(
        tags=["projects"],
        summary="Create a project",
        operation_id="projects_create",
        description="Counts against the plan's project limit (402 entitlement_exceeded "
        "beyond it). Answers 201 with Location and ETag. Send an Idempotency-Key to make a "
        "retry safe." + _WRITE_ROLES,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=ProjectCreateInput,
        responses={
            201: ProjectOutput,
            **ERRORS_WRITE,
            **E402,
            **E409_IDEMPOTENCY,
            **E422_IDEMPOTENCY,
            **E503_IDEMPOTENCY,
        },
        examples=[PROJECT_CREATE_EXAMPLE, PROJECT_EXAMPLE],
    )
    @idempotent_create
    def post(self, request: Request) -> Response:
        data = self.validate(ProjectCreateInput, request)
        project = services.project_create(created_by=request.user, **data)  # type: ignore[arg-type]
        location = reverse("project-detail", kwargs={"project_id": project.pk})
        return created_response(request, project, ProjectOutput(project).data, location)


class ProjectDetailApi(TenantApi):
    capabilities = _RW

    @extend_schema(
        tags=["projects"],
        summary="Read a project",
        operation_id="projects_retrieve",
        description="Also archived ones. Carries an ETag; send it back as If-None-Match "
        "for a 304, or as If-Match on a write to refuse stale updates.",
        parameters=[IF_NONE_MATCH_PARAMETER],
        responses={200: ProjectOutput, **E304, **ERRORS_READ},
        examples=[PROJECT_EXAMPLE],
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(project_id=project_id)
        return detail_response(request, project, ProjectOutput(project).data)

    @extend_schema(
        tags=["projects"],
        summary="Update or archive a project",
        operation_id="projects_partial_update",
        description="Partial update; `archived: true` archives, `false` restores. If-Match "
        "is optional; a stale one is a 412." + _WRITE_ROLES,
        parameters=[IF_MATCH_PARAMETER],
        request=ProjectUpdateInput,
        responses={200: ProjectOutput, **ERRORS_WRITE, **E412},
        examples=[PROJECT_ARCHIVE_EXAMPLE, PROJECT_EXAMPLE],
    )
    def patch(self, request: Request, project_id: int) -> Response:
        data = self.validate(ProjectUpdateInput, request)
        project = services.project_update(
            project_id=project_id, if_match=if_match_of(request), **data
        )
        return detail_response(request, project, ProjectOutput(project).data)

    @extend_schema(
        tags=["projects"],
        summary="Delete a project",
        operation_id="projects_destroy",
        description="Deletes the project and all its tasks for good (to hide it instead, "
        "PATCH archived=true). If-Match is optional; a stale one is a 412." + _WRITE_ROLES,
        parameters=[IF_MATCH_PARAMETER],
        request=None,
        responses={**_DELETED, **ERRORS_READ, **E412},
    )
    def delete(self, request: Request, project_id: int) -> Response:
        services.project_delete(project_id=project_id, if_match=if_match_of(request))
        return Response(status=204)


class TaskListCreateApi(TenantApi):
    capabilities = _RW

    @extend_schema(
        tags=["tasks"],
        summary="List a project's tasks",
        operation_id="tasks_list",
        description="Cursor pagination: follow `next`/`previous` (an invalid cursor is a "
        "400 invalid_cursor); `page_size` is capped at API_MAX_PAGE_SIZE. Filters combine "
        "with AND; archived tasks are hidden unless `archived=true`. An unknown project is a "
        "404.",
        parameters=[TaskListQuery],
        responses={200: TaskPage, **ERRORS_READ, **E400},
    )
    def get(self, request: Request, project_id: int) -> Response:
        # Issue 14 (the hot path, measured in bench/README.md): the page is rows, not model
        # instances, serialised by task_rows_output (TaskOutput's output, tested equal);
        # the project's existence is only queried when the page is empty (task_page).
        query = self.query(TaskListQuery)
        ordering = query.pop("ordering")
        query.pop("cursor", None), query.pop("page_size", None)
        paginator = KeysetCursorPagination()
        sort_field = selectors.task_sort_field(ordering)
        rows = selectors.task_page(
            project_id=project_id,
            page=lambda tasks: paginator.paginate_queryset(
                tasks, request, ordering=ordering, sort_field=sort_field
            ),
            **query,
        )
        return paginator.get_paginated_response(task_rows_output(rows))

    @extend_schema(
        tags=["tasks"],
        summary="Create a task",
        operation_id="tasks_create",
        description="The assignee must be a member of this organization (else 400 naming "
        "`assignee`). Answers 201 with Location and ETag. Send an Idempotency-Key to make a "
        "retry safe." + _WRITE_ROLES,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=TaskCreateInput,
        responses={
            201: TaskOutput,
            **ERRORS_WRITE,
            **E409_IDEMPOTENCY,
            **E422_IDEMPOTENCY,
            **E503_IDEMPOTENCY,
        },
        examples=[TASK_CREATE_EXAMPLE, TASK_EXAMPLE],
    )
    @idempotent_create
    def post(self, request: Request, project_id: int) -> Response:
        data = self.validate(TaskCreateInput, request)
        task = services.task_create(
            tenant=self.tenant,
            project_id=project_id,
            created_by=request.user,  # type: ignore[arg-type]
            **data,
        )
        location = reverse("task-detail", kwargs={"project_id": project_id, "task_id": task.pk})
        return created_response(request, task, TaskOutput(task).data, location)


class TaskDetailApi(TenantApi):
    capabilities = _RW

    @extend_schema(
        tags=["tasks"],
        summary="Read a task",
        operation_id="tasks_retrieve",
        description="Also archived ones. Carries an ETag for If-None-Match (304) and "
        "If-Match (412 on a stale write).",
        parameters=[IF_NONE_MATCH_PARAMETER],
        responses={200: TaskOutput, **E304, **ERRORS_READ},
        examples=[TASK_EXAMPLE],
    )
    def get(self, request: Request, project_id: int, task_id: int) -> Response:
        task = selectors.task_get(project_id=project_id, task_id=task_id)
        return detail_response(request, task, TaskOutput(task).data)

    @extend_schema(
        tags=["tasks"],
        summary="Update or archive a task",
        operation_id="tasks_partial_update",
        description="Partial update; `archived: true` archives, `false` restores; "
        "`assignee: null` unassigns. If-Match is optional; a stale one is a 412." + _WRITE_ROLES,
        parameters=[IF_MATCH_PARAMETER],
        request=TaskUpdateInput,
        responses={200: TaskOutput, **ERRORS_WRITE, **E412},
        examples=[TASK_UPDATE_EXAMPLE, TASK_EXAMPLE],
    )
    def patch(self, request: Request, project_id: int, task_id: int) -> Response:
        data = self.validate(TaskUpdateInput, request)
        task = services.task_update(
            tenant=self.tenant,
            project_id=project_id,
            task_id=task_id,
            if_match=if_match_of(request),
            **data,
        )
        return detail_response(request, task, TaskOutput(task).data)

    @extend_schema(
        tags=["tasks"],
        summary="Delete a task",
        operation_id="tasks_destroy",
        description="Deletes for good (to hide it instead, PATCH archived=true). If-Match is "
        "optional; a stale one is a 412." + _WRITE_ROLES,
        parameters=[IF_MATCH_PARAMETER],
        request=None,
        responses={**_DELETED, **ERRORS_READ, **E412},
    )
    def delete(self, request: Request, project_id: int, task_id: int) -> Response:
        services.task_delete(project_id=project_id, task_id=task_id, if_match=if_match_of(request))
        return Response(status=204)
