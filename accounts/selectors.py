from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from saas.emails.models import EmailFailure
from tenants.models import Tenant

from .models import Invitation, Membership


def membership_get(*, user_id: int, tenant_id: int) -> Membership | None:
    return Membership.objects.filter(user_id=user_id, tenant_id=tenant_id).first()


def membership_list_of_user(*, user_id: int, tenant_id: int | None = None) -> QuerySet[Membership]:
    """A user's memberships with their tenants, by slug; only `tenant_id`'s if given."""
    memberships = Membership.objects.filter(user_id=user_id).select_related("tenant")
    if tenant_id is not None:
        memberships = memberships.filter(tenant_id=tenant_id)
    return memberships.order_by("tenant__slug")


def membership_list(*, tenant: Tenant, role: str | None = None) -> QuerySet[Membership]:
    memberships = Membership.objects.filter(tenant=tenant).select_related("user")
    if role:
        memberships = memberships.filter(role=role)
    return memberships.order_by("created_at", "id")


def invitation_list_pending(*, tenant: Tenant) -> QuerySet[Invitation]:
    """With `email_error`: why its email could not be sent (saas.emails), or None."""
    failures = EmailFailure.objects.filter(
        tenant=tenant, target_type="invitation", target_id=OuterRef("pk")
    ).order_by("-created_at", "-id")
    return (
        Invitation.objects.filter(
            tenant=tenant,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .annotate(email_error=Subquery(failures.values("reason")[:1]))
        .order_by("-created_at", "-id")
    )
