"""Writes of projects and tasks, one transaction each, each with its audit entry. Updates and
deletes lock the row and check the caller's optional If-Match inside the lock, so a stale
write can never slip in between the check and the write."""

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, User
from billing.services.entitlements import entitlement_require
from saas.audit.services import (
    audit_created,
    audit_deleted,
    audit_entry_record,
    audit_updated,
    audit_values,
)
from saas.errors import InvalidInput
from saas.preconditions import precondition_check
from saas.webhooks_out.payloads import project_data, task_data
from saas.webhooks_out.services import webhook_event_record
from tenants.models import Tenant

from .models import Project, Task
from .selectors import project_get, task_get


def task_assignee_check(*, tenant: Tenant, user_id: int | None) -> None:
    """Only members of this organization can be assigned (users of other tenants, or
    unknown ids, are invalid input, not a lookup across tenants)."""
    if user_id is None:
        return
    if not Membership.objects.filter(tenant=tenant, user_id=user_id).exists():
        raise InvalidInput(
            "The assignee must be a member of this organization.",
            extra={"fields": {"assignee": ["Not a member of this organization."]}},
        )


def _archive(obj: Project | Task, archived: bool | None) -> None:
    if archived is True and obj.archived_at is None:
        obj.archived_at = timezone.now()
    elif archived is False:
        obj.archived_at = None


@transaction.atomic
def project_create(*, name: str, description: str = "", created_by: User) -> Project:
    entitlement_require(limit="projects")
    project = Project.objects.create(name=name, description=description, created_by=created_by)
    audit_created(project, target_type="project")
    webhook_event_record(event_type="project.created", data=project_data(project))
    return project


@transaction.atomic
def project_update(
    *,
    project_id: int,
    if_match: str | None = None,
    name: str | None = None,
    description: str | None = None,
    archived: bool | None = None,
) -> Project:
    project = project_get(project_id=project_id, for_update=True)
    precondition_check(project, if_match)
    before = audit_values(project)
    if name is not None:
        project.name = name
    if description is not None:
        project.description = description
    _archive(project, archived)
    project.save()
    audit_updated(project, target_type="project", before=before)
    webhook_event_record(event_type="project.updated", data=project_data(project))
    return project


@transaction.atomic
def project_delete(*, project_id: int, if_match: str | None = None) -> None:
    """Deletes the project and its tasks for good (archiving is PATCH {"archived": true})."""
    project = project_get(project_id=project_id, for_update=True)
    precondition_check(project, if_match)
    tasks = Task.objects.filter(project=project).count()
    project.delete()
    audit_entry_record(
        action="project.deleted",
        target_type="project",
        target_id=project_id,
        changes={
            "name": {"before": project.name, "after": None},
            "tasks": {"before": tasks, "after": 0},
        },
    )
    webhook_event_record(
        event_type="project.deleted", data={"id": project_id, "name": project.name}
    )


@transaction.atomic
def task_create(
    *,
    tenant: Tenant,
    project_id: int,
    created_by: User,
    title: str,
    description: str = "",
    status: str | None = None,
    priority: int | None = None,
    due_date: dt.date | None = None,
    assignee: int | None = None,
) -> Task:
    project = project_get(project_id=project_id)
    task_assignee_check(tenant=tenant, user_id=assignee)
    task = Task(project=project, title=title, description=description, created_by=created_by)
    task.due_date, task.assignee_id = due_date, assignee
    if status is not None:
        task.status = status
    if priority is not None:
        task.priority = priority
    task.save()
    audit_created(task, target_type="task")
    webhook_event_record(event_type="task.created", data=task_data(task))
    return task


_TASK_FIELDS = ("title", "description", "status", "priority", "due_date")


@transaction.atomic
def task_update(
    *,
    tenant: Tenant,
    project_id: int,
    task_id: int,
    if_match: str | None = None,
    **changes: Any,
) -> Task:
    """`changes`: any of title, description, status, priority, due_date, assignee (a user id
    or None), archived (bool)."""
    task = task_get(project_id=project_id, task_id=task_id, for_update=True)
    precondition_check(task, if_match)
    before = audit_values(task)
    if "assignee" in changes:
        task_assignee_check(tenant=tenant, user_id=changes["assignee"])
        task.assignee_id = changes["assignee"]
    for field in _TASK_FIELDS:
        if field in changes:
            setattr(task, field, changes[field])
    _archive(task, changes.get("archived"))
    task.save()
    audit_updated(task, target_type="task", before=before)
    webhook_event_record(event_type="task.updated", data=task_data(task))
    return task


@transaction.atomic
def task_delete(*, project_id: int, task_id: int, if_match: str | None = None) -> None:
    task = task_get(project_id=project_id, task_id=task_id, for_update=True)
    precondition_check(task, if_match)
    task.delete()
    audit_deleted(target_type="task", target_id=task_id)
    webhook_event_record(event_type="task.deleted", data={"id": task_id, "project_id": project_id})


@transaction.atomic
def organization_update(
    *, tenant: Tenant, name: str | None = None, cors_allowed_origins: list[str] | None = None
) -> Tenant:
    """The organization's own settings. Saving the tenant invalidates the host cache on
    commit (tenants.signals), so new CORS origins apply on the next request everywhere."""
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = audit_values(locked, ("name", "cors_allowed_origins"))
    if name is not None:
        locked.name = name
    if cors_allowed_origins is not None:
        locked.cors_allowed_origins = list(dict.fromkeys(cors_allowed_origins))
    locked.save(update_fields=["name", "cors_allowed_origins", "updated_at"])
    audit_updated(locked, target_type="organization", before=before, tenant=locked)
    return locked
