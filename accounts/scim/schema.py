"""OpenAPI: the SCIM token security scheme and the shapes of SCIM resources, for the
documentation only (the SCIM views read bodies themselves: accounts.scim.protocol)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from api.openapi import NUL_FREE
from api.serializers import ChoiceField

from .protocol import GROUP_SCHEMA, PATCH_SCHEMA, USER_SCHEMA
from .selectors import GROUP_ROLES


class ScimTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.scim.authentication.ScimTokenAuthentication"
    name = "scimToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A SCIM token (`scim_...`) made at /api/v1/scim/tokens/ on the "
            "organization's host; valid on that host's /scim/v2/ only. A JWT or OAuth2 token "
            "is not one.",
        }


class _Schemas(serializers.ListField):
    """`schemas`; in a request, the URN it must list when it is sent (a PatchOp must send
    it)."""

    def __init__(self, urn: str | None = None, **kwargs: Any) -> None:
        if urn is None:
            super().__init__(child=serializers.CharField(), **kwargs)
        else:
            super().__init__(
                child=ChoiceField(choices=[urn]), min_length=1, help_text=urn, **kwargs
            )


class ScimMeta(serializers.Serializer):
    resourceType = serializers.CharField()
    created = serializers.DateTimeField(required=False)
    lastModified = serializers.DateTimeField(required=False)
    location = serializers.URLField()


class ScimName(serializers.Serializer):
    formatted = serializers.CharField(required=False, allow_blank=True)
    givenName = serializers.CharField(required=False)
    familyName = serializers.CharField(required=False)


class ScimEmail(serializers.Serializer):
    value = serializers.EmailField()
    type = serializers.CharField(required=False)
    primary = serializers.BooleanField(required=False)


class ScimMemberRef(serializers.Serializer):
    value = serializers.CharField(help_text="The User's id.")
    display = serializers.CharField(read_only=True)


class ScimGroupRef(serializers.Serializer):
    value = serializers.CharField(help_text="The group's id: the role.")
    display = serializers.CharField()


class ScimUserInput(serializers.Serializer):
    schemas = _Schemas(USER_SCHEMA, required=False)
    externalId = serializers.CharField(required=False, max_length=255)
    userName = serializers.EmailField(help_text="The account's email; it cannot change.")
    name = ScimName(required=False, help_text="Sets the name of an account this creates only.")
    active = serializers.BooleanField(
        required=False, help_text="false ends the membership at the next request."
    )


class ScimUserOutput(serializers.Serializer):
    """Every attribute but schemas and id may be left out by `attributes` or
    `excludedAttributes`."""

    schemas = _Schemas()
    id = serializers.CharField()
    externalId = serializers.CharField(required=False)
    userName = serializers.EmailField(required=False)
    displayName = serializers.CharField(
        required=False, help_text="The account's name, or its email."
    )
    emails = ScimEmail(many=True, required=False)
    active = serializers.BooleanField(required=False)
    groups = ScimGroupRef(many=True, required=False, help_text="The member's role, as its group.")
    meta = ScimMeta(required=False)


class ScimUserList(serializers.Serializer):
    schemas = _Schemas()
    totalResults = serializers.IntegerField()
    startIndex = serializers.IntegerField()
    itemsPerPage = serializers.IntegerField()
    Resources = ScimUserOutput(many=True)


class ScimGroupInput(serializers.Serializer):
    schemas = _Schemas(GROUP_SCHEMA, required=False)
    displayName = serializers.CharField(required=False, help_text="The role; it cannot change.")
    members = ScimMemberRef(many=True, required=False)


class ScimGroupOutput(serializers.Serializer):
    """Every attribute but schemas and id may be left out by `attributes` or
    `excludedAttributes`."""

    schemas = _Schemas()
    id = ChoiceField(choices=list(GROUP_ROLES))
    displayName = serializers.CharField(required=False, help_text="The role.")
    members = ScimMemberRef(many=True, required=False)
    meta = ScimMeta(required=False)


class ScimGroupList(serializers.Serializer):
    schemas = _Schemas()
    totalResults = serializers.IntegerField()
    startIndex = serializers.IntegerField()
    itemsPerPage = serializers.IntegerField()
    Resources = ScimGroupOutput(many=True)


class ScimPatchOperation(serializers.Serializer):
    op = ChoiceField(choices=["add", "replace", "remove"])
    path = serializers.CharField(required=False)
    value = serializers.JSONField(required=False)


class ScimPatch(serializers.Serializer):
    schemas = _Schemas(PATCH_SCHEMA)
    Operations = serializers.ListField(child=ScimPatchOperation(), min_length=1, max_length=100)


class ScimErrorBody(serializers.Serializer):
    schemas = _Schemas(help_text="urn:ietf:params:scim:api:messages:2.0:Error")
    status = serializers.CharField(help_text="The HTTP status, as a string.")
    scimType = serializers.CharField(required=False, help_text="RFC 7644's error type.")
    detail = serializers.CharField()


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ScimErrorBody, description=description)


S400 = {400: _error("Invalid input: scimType invalidValue, invalidSyntax, invalidFilter, ...")}
S401 = {401: _error("No SCIM token, or not one of this organization's (or revoked).")}
S403 = {
    403: _error(
        "The plan does not include scim, its seats are full, or the owner would be "
        "deactivated or removed."
    )
}
S404 = {404: _error("No such resource in this organization.")}
S409 = {409: _error("scimType uniqueness: the User exists already.")}
S429 = {429: _error("Over the plan's API rate; see Retry-After.")}
SCIM_READ = {**S401, **S403, **S404, **S429}
SCIM_WRITE = {**S400, **SCIM_READ}
DISCOVERY = OpenApiResponse(response=OpenApiTypes.OBJECT, description="RFC 7643's document.")

FILTER = OpenApiParameter(
    "filter",
    str,
    pattern=NUL_FREE,
    description='`userName eq "<email>"` or `externalId eq "<id>"`; anything else is 400 '
    "invalidFilter.",
)
GROUP_FILTER = OpenApiParameter(
    "filter",
    str,
    pattern=NUL_FREE,
    description='`displayName eq "<role>"`; anything else is 400 invalidFilter.',
)
START_INDEX = OpenApiParameter("startIndex", int, description="1-based; default 1.")
COUNT = OpenApiParameter("count", int, description="At most 100 (the default).")
ATTRIBUTES = OpenApiParameter(
    "attributes",
    str,
    pattern=NUL_FREE,
    description="Only these attributes (comma separated), and id.",
)
EXCLUDED = OpenApiParameter(
    "excludedAttributes",
    str,
    pattern=NUL_FREE,
    description="All but these attributes (comma separated).",
)
SHAPE = [ATTRIBUTES, EXCLUDED]
