"""/api/v1/api-keys/ on the tenant host: members make keys for themselves from their own
login; owners and admins also see, rename and revoke everyone's (accounts.apikeys.services).
An API key or OAuth2 token cannot manage keys: a credential must not mint credentials."""

from datetime import timedelta

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import HasTenantCapability, IsTenantSession
from accounts.tenant_api import TenantApi
from api.docs import E400, E402, E409, ERRORS_READ, ERRORS_WRITE, paginated
from api.no_store import NoStoreMixin
from api.serializers import ChoiceField, PageQuery, StrictSerializer
from saas.validators import single_line

from ..roles import Capability
from ..scopes import SCOPE_CHOICES
from .selectors import api_key_get, api_key_list
from .services import (
    DEFAULT_OVERLAP,
    MAX_OVERLAP,
    CreatedKey,
    api_key_create,
    api_key_rename,
    api_key_revoke,
    api_key_rotate,
)

# Every member may manage their own keys; what more an owner or admin may do is decided per
# key (members:manage).
SELF = {m: Capability.MEMBERSHIP_SELF for m in ("GET", "POST", "PATCH", "DELETE")}
TAGS = ["api keys"]


class ApiKeyOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The key's first characters, to recognise it.")
    scopes = serializers.ListField(child=ChoiceField(choices=SCOPE_CHOICES), source="scope_names")
    created_by = serializers.IntegerField(source="created_by_id")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    retires_at = serializers.DateTimeField(
        allow_null=True, help_text="A rotated key works until then (the rotation's overlap)."
    )
    rotated_to = serializers.IntegerField(
        source="rotated_to_id", allow_null=True, help_text="The key that replaced it."
    )
    last_used_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was last used (to the minute)."
    )
    last_used_ip = serializers.IPAddressField(allow_null=True)


class ApiKeyCreatedOutput(ApiKeyOutput):
    key = serializers.CharField(
        help_text="Shown this once; only a hash is stored. Send it as `Authorization: Bearer`."
    )


def _created(created: CreatedKey) -> Response:
    body = dict(ApiKeyOutput(created.key).data)
    body["key"] = created.raw
    return Response(body, status=201)


class _KeysApi(NoStoreMixin, TenantApi):
    permission_classes = [IsAuthenticated, HasTenantCapability, IsTenantSession]
    capabilities = SELF

    @property
    def manage_all(self) -> bool:
        return self.grant.allows(Capability.MEMBERS_MANAGE)

    def scope(self) -> dict[str, object]:
        return {"tenant": self.tenant, "user_id": self.grant.user_id, "manage_all": self.manage_all}


class ApiKeyListCreateApi(_KeysApi):
    class ApiKeyCreateInput(StrictSerializer):
        name = serializers.CharField(
            max_length=100, validators=[single_line], help_text="What it is for."
        )
        scopes = serializers.ListField(
            child=ChoiceField(choices=SCOPE_CHOICES),
            min_length=1,
            max_length=4,
            help_text="OAuth2's scope names; you can only grant what your role holds.",
        )
        expires_at = serializers.DateTimeField(
            required=False,
            allow_null=True,
            help_text="In the future, at most a year ahead; none: it does not expire.",
        )

    @extend_schema(
        tags=TAGS,
        summary="List API keys",
        operation_id="api_keys_list",
        description="Everyone's keys for owners and admins, your own for other members; "
        "revoked and rotated ones included (never the keys themselves). Works on any plan.",
        parameters=[PageQuery],
        responses={200: paginated(ApiKeyOutput, name="PaginatedApiKeyList"), **E400, **ERRORS_READ},
    )
    def get(self, request: Request) -> Response:
        return self.paginate(api_key_list(**self.scope()), ApiKeyOutput)  # type: ignore[arg-type]

    @extend_schema(
        tags=TAGS,
        summary="Make an API key",
        description="Returns the key once (`sk_live_...`): send it as `Authorization: Bearer` "
        "to this host's API. It acts as you, with your role at each request narrowed by its "
        "scopes. Needs your own login, the plan's api feature (402 otherwise); at most 50 "
        "active keys per organization (409).",
        request=ApiKeyCreateInput,
        responses={201: ApiKeyCreatedOutput, **ERRORS_WRITE, **E402, **E409},
        examples=[
            OpenApiExample(
                "A read-only key",
                value={"name": "Nightly export", "scopes": ["read"]},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.validate(self.ApiKeyCreateInput, request)
        created = api_key_create(
            tenant=self.tenant,
            user_id=self.grant.user_id,
            by_role=self.grant.role,
            name=data["name"],
            scopes=data["scopes"],
            expires_at=data.get("expires_at"),
        )
        return _created(created)


class ApiKeyDetailApi(_KeysApi):
    class ApiKeyUpdateInput(StrictSerializer):
        name = serializers.CharField(max_length=100, validators=[single_line], required=False)

    @extend_schema(
        tags=TAGS,
        summary="Get an API key",
        description="The key is shown only once, when it is made.",
        responses={200: ApiKeyOutput, **ERRORS_READ},
    )
    def get(self, request: Request, api_key_id: int) -> Response:
        key = api_key_get(key_id=api_key_id, **self.scope())  # type: ignore[arg-type]
        return Response(ApiKeyOutput(key).data)

    @extend_schema(
        tags=TAGS,
        summary="Rename an API key",
        description="Only the name changes (an empty body changes nothing); scopes and "
        "expiry are fixed (make a new key).",
        request=ApiKeyUpdateInput,
        responses={200: ApiKeyOutput, **ERRORS_WRITE},
    )
    def patch(self, request: Request, api_key_id: int) -> Response:
        data = self.validate(self.ApiKeyUpdateInput, request)
        key = api_key_rename(key_id=api_key_id, name=data.get("name"), **self.scope())  # type: ignore[arg-type]
        return Response(ApiKeyOutput(key).data)

    @extend_schema(
        tags=TAGS,
        summary="Revoke an API key",
        description="Refused from the next request on; revoking it again changes nothing. "
        "It stays in the list, with revoked_at. Works on any plan.",
        responses={204: None, **ERRORS_WRITE},
    )
    def delete(self, request: Request, api_key_id: int) -> Response:
        api_key_revoke(key_id=api_key_id, **self.scope())  # type: ignore[arg-type]
        return Response(status=204)


class ApiKeyRotateApi(_KeysApi):
    capabilities = {"POST": Capability.MEMBERSHIP_SELF}

    class ApiKeyRotateInput(StrictSerializer):
        overlap_seconds = serializers.IntegerField(
            required=False,
            min_value=0,
            max_value=int(MAX_OVERLAP.total_seconds()),
            default=int(DEFAULT_OVERLAP.total_seconds()),
            help_text="How long the old key keeps working (default a day, at most 7 days).",
        )

    @extend_schema(
        tags=TAGS,
        summary="Rotate an API key",
        description="Returns a new key once, with the same name, scopes and expiry; the old "
        "key keeps working for `overlap_seconds`, then stops. Only the key's creator rotates "
        "it; a key is rotated once (409 again, or when revoked or expired).",
        request=ApiKeyRotateInput,
        responses={201: ApiKeyCreatedOutput, **ERRORS_WRITE, **E409},
    )
    def post(self, request: Request, api_key_id: int) -> Response:
        data = self.validate(self.ApiKeyRotateInput, request)
        overlap = timedelta(seconds=data["overlap_seconds"])
        created = api_key_rotate(key_id=api_key_id, overlap=overlap, **self.scope())  # type: ignore[arg-type]
        return _created(created)
