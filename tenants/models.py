"""Tenants (organisations) and the hosts that reach them. Both live in the public schema."""

from typing import Any

from django.db import models
from django.db.models.functions import Upper
from django_tenants.models import DomainMixin, TenantMixin


class TenantStatus(models.TextChoices):
    PROVISIONING = "provisioning", "Provisioning"
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due (grace period)"
    READ_ONLY = "read_only", "Read only"
    SUSPENDED = "suspended", "Suspended"
    ARCHIVED = "archived", "Archived"


# Which status may follow which. Billing moves tenants along this graph; operators can
# suspend or reactivate. Archived is terminal (purging is an operator action).
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    TenantStatus.PROVISIONING: frozenset({TenantStatus.TRIALING, TenantStatus.ACTIVE}),
    TenantStatus.TRIALING: frozenset(
        {
            TenantStatus.ACTIVE,
            TenantStatus.PAST_DUE,
            TenantStatus.READ_ONLY,
            TenantStatus.SUSPENDED,
            TenantStatus.ARCHIVED,
        }
    ),
    TenantStatus.ACTIVE: frozenset(
        {
            TenantStatus.TRIALING,
            TenantStatus.PAST_DUE,
            TenantStatus.READ_ONLY,
            TenantStatus.SUSPENDED,
            TenantStatus.ARCHIVED,
        }
    ),
    TenantStatus.PAST_DUE: frozenset(
        {TenantStatus.ACTIVE, TenantStatus.READ_ONLY, TenantStatus.SUSPENDED, TenantStatus.ARCHIVED}
    ),
    TenantStatus.READ_ONLY: frozenset(
        {
            TenantStatus.ACTIVE,
            TenantStatus.TRIALING,
            TenantStatus.PAST_DUE,
            TenantStatus.SUSPENDED,
            TenantStatus.ARCHIVED,
        }
    ),
    TenantStatus.SUSPENDED: frozenset(
        {TenantStatus.ACTIVE, TenantStatus.READ_ONLY, TenantStatus.ARCHIVED}
    ),
    TenantStatus.ARCHIVED: frozenset(),
}
# What a tenant host may do in each status.
READABLE_STATUSES = frozenset(
    {TenantStatus.TRIALING, TenantStatus.ACTIVE, TenantStatus.PAST_DUE, TenantStatus.READ_ONLY}
)
WRITABLE_STATUSES = frozenset({TenantStatus.TRIALING, TenantStatus.ACTIVE, TenantStatus.PAST_DUE})


class Tenant(TenantMixin):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=40, unique=True)
    status = models.CharField(
        max_length=16, choices=TenantStatus.choices, default=TenantStatus.PROVISIONING
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Browser origins (scheme://host[:port]) allowed to call this organization's host
    # cross-origin (api.cors); set by its admins through PATCH /api/v1/organization/.
    cors_allowed_origins = models.JSONField(default=list, blank=True)

    # Schemas are cloned by tenants.provisioning inside tenant_create's transaction, never
    # by save(): django-tenants' own path runs every migration (or a 4,600-line PL/pgSQL
    # clone) for each tenant.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        indexes = [
            models.Index(fields=["status"], name="tenant_status_idx"),
            # django-tenants refuses a new tenant whose schema name differs from an existing
            # one only in case (schema_name__iexact, UPPER(...) = UPPER(...)): without this,
            # a scan of every tenant on each signup (5 ms at 20,000 tenants, bench ops_scale).
            models.Index(Upper("schema_name"), name="tenant_schema_upper_idx"),
        ]

    def __str__(self) -> str:
        return self.slug


class Domain(DomainMixin):
    created_at = models.DateTimeField(auto_now_add=True)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.domain: str = str(self.domain).lower()
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.domain
