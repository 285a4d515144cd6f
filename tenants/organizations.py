"""Organizations: a tenant with everything the product needs from its first request, its
billing account and its owner. Each function is one transaction: all or nothing. Above
tenants.services (the tenant alone), accounts (users, memberships) and billing (the account)."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from accounts.models import Role, User
from accounts.services import membership_create, user_create
from billing.services.accounts import billing_account_open
from saas.errors import Conflict, InvalidInput

from .models import Tenant, TenantStatus
from .services import tenant_create, tenant_domain_for
from .validation import slug_validate


@transaction.atomic
def organization_open(*, name: str, slug: str, initial_status: str = TenantStatus.ACTIVE) -> Tenant:
    """A tenant (row, domain, schema) with its billing account on the signup plan: what every
    organization has from its first request. All or nothing."""
    tenant = tenant_create(name=name, slug=slug, initial_status=initial_status)
    billing_account_open(tenant=tenant)
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
