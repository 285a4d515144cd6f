"""Tenant writes: a tenant's row, domain and schema, and its status. Organizations (a tenant
with its owner and billing account) are made in tenants.organizations."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from saas.audit.services import audit_entry_record
from saas.errors import Conflict, InvalidInput

from .db import schema_activate_public
from .models import ALLOWED_TRANSITIONS, Domain, Tenant, TenantStatus
from .provisioning import schema_clone_from_template
from .validation import schema_name_for, slug_validate


def tenant_domain_for(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


@transaction.atomic
def tenant_create(*, name: str, slug: str, initial_status: str = TenantStatus.ACTIVE) -> Tenant:
    """Tenant row, its domain and its schema, all in one transaction: all or nothing."""
    slug = slug_validate(slug)
    if Tenant.objects.filter(slug=slug).exists():
        raise _slug_taken()
    schema_activate_public()
    schema_name = schema_name_for(slug)
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(
                name=name, slug=slug, schema_name=schema_name, status=TenantStatus.PROVISIONING
            )
            Domain.objects.create(domain=tenant_domain_for(slug), tenant=tenant, is_primary=True)
    except IntegrityError as exc:  # a concurrent signup holds this slug, not yet committed
        raise _slug_taken() from exc
    except ValidationError as exc:
        # django-tenants checks the schema name before saving: a concurrent signup for this
        # slug committed after our check above.
        if not Tenant.objects.filter(schema_name__iexact=schema_name).exists():
            raise
        raise _slug_taken() from exc
    schema_clone_from_template(schema_name=tenant.schema_name)
    return tenant_set_status(tenant=tenant, status=initial_status)


def _slug_taken() -> Conflict:
    return Conflict(
        "This slug is taken.", code="slug_taken", extra={"fields": {"slug": ["Already taken."]}}
    )


def tenant_set_status(*, tenant: Tenant, status: str) -> Tenant:
    if status not in TenantStatus.values:
        raise InvalidInput(f"Unknown tenant status {status!r}.", code="invalid_status")
    if status == tenant.status:
        return tenant
    if status not in ALLOWED_TRANSITIONS[TenantStatus(tenant.status)]:
        raise Conflict(
            f"A tenant cannot go from {tenant.status} to {status}.", code="invalid_transition"
        )
    before, tenant.status = tenant.status, status
    tenant.status_changed_at = timezone.now()
    tenant.save(update_fields=["status", "status_changed_at", "updated_at"])
    if before != TenantStatus.PROVISIONING:  # a new organization has no history yet
        audit_entry_record(
            action="organization.status_changed",
            target_type="organization",
            target_id=tenant.pk,
            changes={"status": {"before": before, "after": status}},
            tenant=tenant,
        )
    return tenant
