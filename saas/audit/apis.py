from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import Capability
from accounts.tenant_api import TenantApi
from api.docs import E400, E402, ERRORS_READ, paginated
from api.serializers import ChoiceField, PageQuery
from billing.services.entitlements import entitlement_require

from .models import ActorKind
from .selectors import audit_entry_list


class AuditEntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    actor_id = serializers.IntegerField(allow_null=True, help_text="The user; null for system.")
    actor_email = serializers.CharField(help_text="The user's email when it was recorded.")
    actor_kind = ChoiceField(choices=ActorKind.choices)
    actor_app = serializers.CharField(help_text="The OAuth2 client id, for oauth2_app actors.")
    action = serializers.CharField(help_text="`<target>.<verb>`, e.g. `member.role_changed`.")
    target_type = serializers.CharField()
    target_id = serializers.CharField()
    changes = serializers.DictField(
        child=serializers.DictField(),
        help_text='Changed fields: {"field": {"before": ..., "after": ...}}. Never secrets.',
    )
    ip = serializers.IPAddressField(allow_null=True)
    request_id = serializers.CharField(help_text="The X-Request-ID of the request that did it.")


class AuditLogQuery(PageQuery):
    actor = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    actor_kind = ChoiceField(choices=ActorKind.choices, required=False)
    action = serializers.CharField(required=False, max_length=64)
    target_type = serializers.CharField(required=False, max_length=64)
    target_id = serializers.CharField(required=False, max_length=64)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


_EXAMPLE = {
    "id": 42,
    "created_at": "2026-11-24T09:15:02.123456Z",
    "actor_id": 7,
    "actor_email": "owner@acme.test",
    "actor_kind": "user",
    "actor_app": "",
    "action": "member.role_changed",
    "target_type": "member",
    "target_id": "12",
    "changes": {"role": {"before": "member", "after": "admin"}},
    "ip": "203.0.113.9",
    "request_id": "3f0c6c1b9a7e4f4fb2d1c2a4e5f60789",
}


class AuditLogListApi(TenantApi):
    capabilities = {"GET": Capability.AUDIT_READ}

    @extend_schema(
        tags=["audit"],
        summary="List audit log entries",
        operation_id="audit_log_list",
        description=(
            "Who did what to which resource of this organization, when and from which IP: "
            "membership and role changes, invitations, ownership transfers, subscription "
            "changes (also those Stripe's webhooks make: actor_kind `system`), OAuth2 "
            "applications, projects and tasks. Newest first, paginated. Owners and admins "
            "only, on a plan with the `audit_log` feature (else 402 entitlement_exceeded; "
            "entries are recorded on every plan). `action` ending in `.` matches a prefix "
            "(`member.`)."
        ),
        parameters=[AuditLogQuery],
        responses={
            200: paginated(AuditEntryOutput, name="PaginatedAuditEntryList"),
            **E400,
            **E402,
            **ERRORS_READ,
        },
        examples=[
            OpenApiExample(
                "A role change",
                value={"count": 1, "next": None, "previous": None, "results": [_EXAMPLE]},
                response_only=True,
            ),
        ],
    )
    def get(self, request: Request) -> Response:
        filters = self.query(AuditLogQuery)  # bad input is a 400 whatever the plan
        entitlement_require(tenant=self.tenant, feature="audit_log")
        filters.pop("page", None), filters.pop("page_size", None)
        return self.paginate(audit_entry_list(**filters), AuditEntryOutput)
