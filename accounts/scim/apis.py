"""The organization's owner and admins make and revoke the tokens its identity provider
calls the SCIM service with: /api/v1/scim/tokens/ on the tenant host."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.tenant_api import TenantApi
from api.docs import E400, E402, E409, ERRORS_READ, ERRORS_WRITE, paginated
from api.no_store import NoStoreMixin
from api.serializers import PageQuery, StrictSerializer
from saas.validators import single_line

from ..roles import Capability
from .selectors import scim_token_list
from .services import scim_token_create, scim_token_revoke

# Whoever manages the members manages what provisions them.
MANAGE = {method: Capability.MEMBERS_MANAGE for method in ("GET", "POST", "DELETE")}
TAGS = ["scim tokens"]


class ScimTokenOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The token's first characters, to recognise it.")
    created_by = serializers.IntegerField(source="created_by_id", allow_null=True)
    created_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(
        allow_null=True, help_text="When the identity provider last called with it (to the minute)."
    )


class ScimTokenCreatedOutput(ScimTokenOutput):
    token = serializers.CharField(
        help_text="Shown this once; only a hash is stored. Give it to the identity provider."
    )


class ScimTokenListCreateApi(NoStoreMixin, TenantApi):
    capabilities = MANAGE

    class ScimTokenCreateInput(StrictSerializer):
        name = serializers.CharField(
            max_length=100,
            validators=[single_line],
            help_text="What it is for, e.g. the identity provider's name.",
        )

    @extend_schema(
        tags=TAGS,
        summary="List SCIM tokens",
        operation_id="scim_tokens_list",
        description="The organization's SCIM tokens, revoked ones included (never the "
        "tokens themselves). Works on any plan, so a downgraded organization can still "
        "see and revoke them.",
        parameters=[PageQuery],
        responses={
            200: paginated(ScimTokenOutput, name="PaginatedScimTokenList"),
            **E400,
            **ERRORS_READ,
        },
    )
    def get(self, request: Request) -> Response:
        return self.paginate(scim_token_list(tenant=self.tenant), ScimTokenOutput)

    @extend_schema(
        tags=TAGS,
        summary="Make a SCIM token",
        description="Returns the token once (`scim_...`): the identity provider sends it as "
        "`Authorization: Bearer` to /scim/v2/ on this host. Needs the plan's scim feature "
        "(402 otherwise); at most 10 active tokens (409).",
        request=ScimTokenCreateInput,
        responses={201: ScimTokenCreatedOutput, **ERRORS_WRITE, **E402, **E409},
        examples=[OpenApiExample("Okta", value={"name": "Okta"}, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        data = self.validate(self.ScimTokenCreateInput, request)
        created = scim_token_create(tenant=self.tenant, user_id=self.grant.user_id, **data)
        body = dict(ScimTokenOutput(created.token).data)
        body["token"] = created.raw
        return Response(body, status=201)


class ScimTokenDetailApi(TenantApi):
    capabilities = MANAGE

    @extend_schema(
        tags=TAGS,
        summary="Revoke a SCIM token",
        description="The token is refused from the next request on; revoking it again "
        "changes nothing. It stays in the list, with revoked_at.",
        responses={204: None, **ERRORS_WRITE},
    )
    def delete(self, request: Request, scim_token_id: int) -> Response:
        scim_token_revoke(tenant=self.tenant, token_id=scim_token_id)
        return Response(status=204)
