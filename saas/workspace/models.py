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

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name
