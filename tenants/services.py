"""Tenant writes: provisioning, signup and lifecycle changes."""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import membership_create, user_create
from billing.services.accounts import billing_account_open
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


@transaction.atomic
def organization_open(*, name: str, slug: str, initial_status: str = TenantStatus.ACTIVE) -> Tenant:
    """A tenant (row, domain, schema) with its billing account on the signup plan: what every
    organization has from its first request. All or nothing."""
    tenant = tenant_create(name=name, slug=slug, initial_status=initial_status)
    billing_account_open(tenant=tenant)
    return tenant


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


@dataclass(frozen=True)
class Signup:
    tenant: Tenant
    domain: str
    owner: User


@transaction.atomic
def organization_signup(*, name: str, slug: str, email: str, password: str) -> Signup:
    """A new organisation with its owner. Any failure rolls back schema, rows and user."""
    slug = slug_validate(slug)
    owner = user_create(email=email, password=password)
    tenant = organization_open(name=name, slug=slug)
    membership_create(user=owner, tenant_id=tenant.pk, role=Role.OWNER)
    return Signup(tenant=tenant, domain=tenant_domain_for(slug), owner=owner)


@transaction.atomic
def organization_create(
    *, name: str, slug: str, owner_email: str, owner_password: str = ""
) -> Signup:
    """An organisation made by an operator (manage.py create_tenant): like signup, but the
    owner may already have an account (it becomes the owner) or is made with
    `owner_password`. Any failure rolls back schema, rows and user."""
    slug = slug_validate(slug)
    email = User.objects.normalize_email(owner_email.strip()).lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise InvalidInput(
            f"{owner_email!r} is not an email address.",
            code="invalid_email",
            extra={"fields": {"email": ["Not an email address."]}},
        ) from exc
    owner = User.objects.filter(email__iexact=email).first()
    if owner is None:
        if not owner_password:
            raise InvalidInput(
                f"No user has the email {email}: a new owner needs a password.",
                code="password_required",
                extra={"fields": {"password": ["Required for a new user."]}},
            )
        owner = user_create(email=email, password=owner_password)
    elif not owner.is_active:
        raise Conflict(f"The user {email} is deactivated.", code="user_inactive")
    tenant = organization_open(name=name, slug=slug)
    membership_create(user=owner, tenant_id=tenant.pk, role=Role.OWNER)
    return Signup(tenant=tenant, domain=tenant_domain_for(slug), owner=owner)
