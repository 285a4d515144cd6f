from django.urls import path, register_converter

from .apis import ProjectDetailApi, ProjectListCreateApi, TaskDetailApi, TaskListCreateApi
from .organization_apis import OrganizationApi


class IdConverter:
    """A positive bigint: longer digit strings are a 404, not a database overflow."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "rowid")

urlpatterns = [
    path("organization/", OrganizationApi.as_view(), name="organization"),
    path("projects/", ProjectListCreateApi.as_view(), name="project-list"),
    path("projects/<rowid:project_id>/", ProjectDetailApi.as_view(), name="project-detail"),
    path("projects/<rowid:project_id>/tasks/", TaskListCreateApi.as_view(), name="task-list"),
    path(
        "projects/<rowid:project_id>/tasks/<rowid:task_id>/",
        TaskDetailApi.as_view(),
        name="task-detail",
    ),
]
