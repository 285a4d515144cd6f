"""DRF permissions built on TenantGrant: the credential's tenant must be this host's tenant,
and the grant must hold the capability the endpoint asks for this method."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .grants import TenantGrant
from .roles import Capability


def grant_of(request: Request) -> TenantGrant | None:
    grant = getattr(request, "auth", None)
    tenant = getattr(request, "tenant", None)
    if not isinstance(grant, TenantGrant) or tenant is None or grant.tenant_id != tenant.pk:
        return None
    return grant


class IsTenantSession(BasePermission):
    """A person's own login (a JWT) on this tenant: account changes (profile, password,
    logout) are not for OAuth2 clients, whatever their scopes."""

    message = "This needs your own login, not an application's token."

    def has_permission(self, request: Request, view: Any) -> bool:
        grant = grant_of(request)
        return grant is not None and grant.kind == "jwt"


class HasTenantGrant(BasePermission):
    """Any valid credential for this tenant (reading one's own account)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        grant = grant_of(request)
        return grant is not None and grant.allows(Capability.MEMBERSHIP_SELF)


class HasTenantCapability(BasePermission):
    """The view names a capability per method in `capabilities` ({"GET": ..., "POST": ...});
    a method without one is refused."""

    message = "Your role (or this token's scopes) does not allow this."

    def has_permission(self, request: Request, view: Any) -> bool:
        grant = grant_of(request)
        if grant is None:
            return False
        needed: Capability | None = getattr(view, "capabilities", {}).get(request.method)
        if needed is None and request.method in ("HEAD", "OPTIONS"):
            needed = view.capabilities.get("GET")
        return needed is not None and grant.allows(needed)


class MfaPolicyMet(BasePermission):
    """Not a session the organization's MFA policy holds back (TenantGrant.mfa_pending): an
    owner or admin who logged in without the second factor the policy asks of them."""

    message = (
        "This organization requires two-factor authentication for your role: set it up at "
        "auth/mfa/totp/, then log in again."
    )
    code = "mfa_enrollment_required"

    def has_permission(self, request: Request, view: Any) -> bool:
        grant = grant_of(request)
        return grant is None or not grant.mfa_pending
