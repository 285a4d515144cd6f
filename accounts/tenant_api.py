"""The base of every endpoint on a tenant host: the caller's membership (a TenantGrant from
JWT or OAuth2 authentication), the capability each method needs, and the plan's API rate.
It composes identity (accounts), tenancy (tenants) and billing (the plan's rate): the HTTP
kernel in `api` knows none of them."""

from typing import Any

from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import BaseApi
from billing.throttling import PlanRateThrottle, rate_limit_headers
from tenants.models import Tenant

from .grants import TenantGrant
from .permissions import HasTenantCapability, MfaPolicyMet
from .roles import Capability


class TenantApi(BaseApi):
    """Endpoints of a tenant host. Authentication resolves the caller's membership once into
    a TenantGrant (request.auth); each subclass names the capability every method needs:

        capabilities = {"GET": Capability.RESOURCES_READ, "POST": Capability.RESOURCES_WRITE}
    """

    permission_classes = [IsAuthenticated, HasTenantCapability]
    capabilities: dict[str, Capability] = {}
    # MFA enrollment stays open to a session the organization's MFA policy holds back.
    mfa_enrollment_endpoint = False

    @property
    def grant(self) -> TenantGrant:
        return self.request.auth  # type: ignore[return-value]

    @property
    def tenant(self) -> Tenant:
        """The tenant whose host was called (set by tenants.middleware)."""
        return self.request.tenant  # type: ignore[attr-defined]

    def check_permissions(self, request: Request) -> None:
        # An unsupported method is a 405 with Allow whatever the caller's role (the
        # capability check would otherwise answer 403 for a method no role can use).
        if not hasattr(self, str(request.method).lower()):
            self.http_method_not_allowed(request)
        super().check_permissions(request)
        # Here rather than in permission_classes, which subclasses replace (accounts.mfa).
        policy = MfaPolicyMet()
        if not self.mfa_enrollment_endpoint and not policy.has_permission(request, self):
            self.permission_denied(request, message=policy.message, code=policy.code)

    def check_throttles(self, request: Request) -> None:
        # The plan's API rate applies to every tenant endpoint, whatever throttles a view sets.
        super().check_throttles(request)
        plan_rate = PlanRateThrottle()
        if not plan_rate.allow_request(request, self):
            self.throttled(request, plan_rate.wait())

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        rate_limit_headers(request, response)
        return response
