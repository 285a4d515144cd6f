"""The tenant's entitlements: each limit of its plan with current usage, and its features."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import Capability
from accounts.tenant_api import TenantApi
from api.docs import ERRORS_READ

from .services.entitlements import entitlements_get


class UsageOutput(serializers.Serializer):
    limit = serializers.IntegerField(allow_null=True, help_text="null: unlimited")
    used = serializers.IntegerField()
    remaining = serializers.IntegerField(allow_null=True, help_text="null: unlimited")


class SeatUsageOutput(UsageOutput):
    reserved = serializers.IntegerField(help_text="Pending invitations, each holding a seat.")


class EntitlementPlanOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class EntitlementsOutput(serializers.Serializer):
    plan = EntitlementPlanOutput()
    seats = SeatUsageOutput(help_text="Members; pending invitations are reserved seats.")
    projects = UsageOutput()
    api_requests_per_minute = UsageOutput(help_text="Requests counted in the current minute.")
    features = serializers.DictField(
        child=serializers.BooleanField(), help_text="Feature flag -> included in the plan."
    )


class EntitlementsApi(TenantApi):
    capabilities = {"GET": Capability.BILLING_READ}

    @extend_schema(
        tags=["billing"],
        summary="Show entitlements and usage",
        description="The plan's limits with what is used now. Going over a limit (creating "
        "a project, inviting or adding a member) or using a feature the plan lacks answers "
        "402 `entitlement_exceeded`, naming the entitlement, the limit and the plan.",
        responses={200: EntitlementsOutput, **ERRORS_READ},
    )
    def get(self, request: Request) -> Response:
        return Response(EntitlementsOutput(entitlements_get(tenant=self.tenant)).data)
