"""The product's own data. Lives in each tenant's schema: tenants cannot see each other's rows
because the rows are in different schemas, not because of a WHERE clause."""

from django.conf import settings
from django.db import models


class Project(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=10_000)
    # Users live in the public schema. No database constraint across schemas: deleting a
    # user must not touch (or lock) every tenant schema, and Django's delete collector would
    # look for this table in the public schema. Readers treat a missing user as "deleted".
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Soft archive: hidden from lists unless asked for; DELETE removes for good.
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class TaskStatus(models.TextChoices):
    TODO = "todo", "To do"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"


class TaskPriority(models.IntegerChoices):
    """Higher is more urgent, so `?ordering=-priority` lists the urgent first."""

    LOW = 1, "Low"
    NORMAL = 2, "Normal"
    HIGH = 3, "High"
    URGENT = 4, "Urgent"


class Task(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=10_000)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.TODO)
    priority = models.PositiveSmallIntegerField(
        choices=TaskPriority.choices, default=TaskPriority.NORMAL
    )
    due_date = models.DateField(null=True, blank=True)
    # Plain user ids, like Project.created_by (no constraint across schemas). The assignee is
    # checked against this tenant's memberships when it is set.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The default list: a project's live tasks, newest first (keyset pagination).
            models.Index(fields=["project", "-created_at", "-id"], name="task_project_recent_idx"),
            models.Index(fields=["project", "status"], name="task_project_status_idx"),
        ]

    def __str__(self) -> str:
        return self.title
