"""DRF permissions built on Membership. The base API class resolves the membership once."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .selectors import membership_get


class IsTenantMember(BasePermission):
    """The authenticated user belongs to the tenant whose host was called.

    Sets request.membership so views and later permissions need no second query.
    """

    message = "You are not a member of this organization."

    def has_permission(self, request: Request, view: Any) -> bool:
        tenant = getattr(request, "tenant", None)
        user = request.user
        if tenant is None or not user or not user.is_authenticated:
            return False
        membership = membership_get(user_id=user.pk, tenant_id=tenant.pk)
        request.membership = membership  # type: ignore[attr-defined]
        return membership is not None
