"""Each event type's `data`, built from the row the change made (catalog.py has the shapes)."""

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder


def _iso(value: Any) -> Any:
    return None if value is None else DjangoJSONEncoder().default(value)


def project_data(project: Any) -> dict[str, Any]:
    return {
        "id": project.pk,
        "name": project.name,
        "description": project.description,
        "archived": project.archived_at is not None,
        "created_at": _iso(project.created_at),
        "updated_at": _iso(project.updated_at),
    }


def task_data(task: Any) -> dict[str, Any]:
    return {
        "id": task.pk,
        "project_id": task.project_id,
        "title": task.title,
        "description": task.description,
        "status": task.status,
        "priority": int(task.priority),
        "due_date": _iso(task.due_date),
        "assignee": task.assignee_id,
        "archived": task.archived_at is not None,
        "created_at": _iso(task.created_at),
        "updated_at": _iso(task.updated_at),
    }


def member_data(membership: Any) -> dict[str, Any]:
    return {"user_id": membership.user_id, "email": membership.user.email, "role": membership.role}
