from django.db.models import QuerySet
from django.utils import timezone

from tenants.models import Tenant

from .models import Invitation, Membership


def membership_get(*, user_id: int, tenant_id: int) -> Membership | None:
    return Membership.objects.filter(user_id=user_id, tenant_id=tenant_id).first()


def membership_list(*, tenant: Tenant, role: str | None = None) -> QuerySet[Membership]:
    memberships = Membership.objects.filter(tenant=tenant).select_related("user")
    if role:
        memberships = memberships.filter(role=role)
    return memberships.order_by("created_at", "id")


def invitation_list_pending(*, tenant: Tenant) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        tenant=tenant,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).order_by("-created_at", "-id")
