"""GET/PATCH /api/v1/organization/: the calling organization's own settings (its name and
the browser origins allowed to call its host, see api.cors)."""

import re
from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import Capability
from accounts.tenant_api import TenantApi
from api.cors import MAX_ORIGINS, ORIGIN_PATTERN, origin_normalise
from api.docs import ERRORS_READ, ERRORS_WRITE
from api.serializers import StrictSerializer
from saas.validators import single_line

from .services import organization_update


class OrganizationOutput(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField(help_text="Part of the host name; fixed.")
    status = serializers.CharField()
    cors_allowed_origins = serializers.ListField(child=serializers.CharField())


@extend_schema_field({"type": "string", "pattern": ORIGIN_PATTERN, "maxLength": 300})
class OriginField(serializers.CharField):
    """An origin exactly as ORIGIN_PATTERN (the schema's pattern) allows, stored as
    origin_normalise writes it."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if len(value) > 300 or not re.fullmatch(ORIGIN_PATTERN, value):
            raise serializers.ValidationError(
                "An origin is scheme://host[:port] with http or https, nothing after."
            )
        try:
            return origin_normalise(value)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None


class OrganizationUpdateInput(StrictSerializer):
    name = serializers.CharField(max_length=100, required=False, validators=[single_line])
    cors_allowed_origins = serializers.ListField(
        child=OriginField(trim_whitespace=False),
        max_length=MAX_ORIGINS,
        required=False,
        help_text="Browser origins (scheme://host[:port]) allowed to call this host "
        "cross-origin; replaces the list. [] allows none.",
    )


_EXAMPLE = OpenApiExample(
    "Organization",
    value={
        "name": "Acme",
        "slug": "acme",
        "status": "active",
        "cors_allowed_origins": ["https://app.acme.example"],
    },
    response_only=True,
)


class OrganizationApi(TenantApi):
    capabilities = {"GET": Capability.MEMBERS_READ, "PATCH": Capability.MEMBERS_MANAGE}

    @extend_schema(
        tags=["organization"],
        summary="Read the organization's settings",
        description="Name, slug, status and the CORS origins allowed on this host.",
        operation_id="organization_retrieve",
        responses={200: OrganizationOutput, **ERRORS_READ},
        examples=[_EXAMPLE],
    )
    def get(self, request: Request) -> Response:
        return Response(OrganizationOutput(self.tenant).data)

    @extend_schema(
        tags=["organization"],
        summary="Update the organization's settings",
        description="Owners and admins. `cors_allowed_origins` replaces the list; an origin "
        "listed here may call this organization's host from a browser (and no other "
        "organization's). Applies from the next request.",
        operation_id="organization_partial_update",
        request=OrganizationUpdateInput,
        responses={200: OrganizationOutput, **ERRORS_WRITE},
        examples=[
            OpenApiExample(
                "Allow a web app",
                value={"cors_allowed_origins": ["https://app.acme.example"]},
                request_only=True,
            ),
            _EXAMPLE,
        ],
    )
    def patch(self, request: Request) -> Response:
        data = self.validate(OrganizationUpdateInput, request)
        tenant = organization_update(tenant=self.tenant, **data)
        return Response(OrganizationOutput(tenant).data)
