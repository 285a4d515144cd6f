"""The SCIM 2.0 service (RFC 7644) at /scim/v2/ on an organization's host: Users, Groups (one
per role) and the discovery documents. Thin views: parse (accounts.scim.protocol), call one
service or selector, answer the resource (accounts.scim.resources). Every answer, errors
included, is application/scim+json (or application/json when a client asks for it)."""

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import renderers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.parsers import JSONParser
from billing.errors import EntitlementExceeded
from billing.services.entitlements import entitlement_require
from billing.throttling import PlanRateThrottle, rate_limit_headers
from tenants.models import Tenant

from . import resources, schema
from .authentication import ScimTokenAuthentication
from .errors import ScimError, forbidden, invalid_value, not_found
from .filters import filter_parse
from .protocol import (
    group_members_parse,
    group_patch_apply,
    page_parse,
    patch_operations_parse,
    user_attributes_parse,
    user_patch_apply,
)
from .rendering import ScimJSONParser, ScimJSONRenderer, scim_exception_handler
from .selectors import (
    GROUP_ROLES,
    scim_group_members,
    scim_group_role,
    scim_person_get,
    scim_person_page,
)
from .services import (
    scim_group_patch,
    scim_group_replace,
    scim_user_create,
    scim_user_delete,
    scim_user_patch,
    scim_user_replace,
)

TAGS = ["scim"]


class ScimApi(APIView):
    authentication_classes = [ScimTokenAuthentication]
    permission_classes: list = []
    parser_classes = [ScimJSONParser, JSONParser]
    renderer_classes = [ScimJSONRenderer, renderers.JSONRenderer]
    # The plan's API rate, shared with the organization's API callers (a 429 with
    # Retry-After in SCIM's shape); counted after the token is checked.
    throttle_classes = [PlanRateThrottle]

    @property
    def tenant(self) -> Tenant:
        return self.request.tenant  # type: ignore[attr-defined]

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response]:
        return scim_exception_handler

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        rate_limit_headers(request, response)
        return response

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # A method no view here serves is 405 with Allow whoever calls, before authentication.
        if not hasattr(self, str(request.method).lower()):
            self.http_method_not_allowed(request)
        super().initial(request, *args, **kwargs)  # authenticates: a 401 comes before the plan
        # Checked on every request, so a plan without scim stops provisioning at once.
        try:
            entitlement_require(tenant=self.tenant, feature="scim")
        except EntitlementExceeded as exc:
            raise forbidden(exc.message) from exc


def _shaped(request: Request, resource: dict[str, Any]) -> dict[str, Any]:
    attributes = request.query_params.get("attributes")
    excluded = request.query_params.get("excludedAttributes")
    if "\x00" in (attributes or "") + (excluded or ""):
        raise invalid_value("Attribute names contain a NUL character.")
    return resources.attributes_apply(resource, attributes=attributes, excluded=excluded)


def _user_id(raw: str) -> int:
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    raise not_found(f"User {raw!r} not found.")


class ScimUsersApi(ScimApi):
    @extend_schema(
        tags=TAGS,
        summary="List or find SCIM Users",
        operation_id="scim_users_query",
        description="The organization's members and the people provisioning deactivated. "
        '`filter=userName eq "ada@example.com"` (or `externalId eq "..."`) finds one; '
        "`startIndex` (1-based) and `count` page.",
        parameters=[schema.FILTER, schema.START_INDEX, schema.COUNT, *schema.SHAPE],
        responses={200: schema.ScimUserList, **schema.S400, **schema.SCIM_READ},
    )
    def get(self, request: Request) -> Response:
        where = filter_parse(
            request.query_params.get("filter"), attributes=("userName", "externalId")
        )
        start, count = page_parse(
            request.query_params.get("startIndex"),
            request.query_params.get("count"),
            max_count=resources.MAX_RESULTS,
        )
        total, people = scim_person_page(tenant=self.tenant, where=where, start=start, count=count)
        return Response(
            resources.list_response(
                [_shaped(request, resources.user_resource(request, p)) for p in people],
                total=total,
                start=start,
            )
        )

    @extend_schema(
        tags=TAGS,
        summary="Provision a SCIM User",
        operation_id="scim_users_create",
        description="Adds the person as a member (role member). An address with an account "
        "already joins as it is (its password and other memberships untouched); a new address "
        "gets an account without a usable password (SSO or a password reset). "
        "`active: false` records the person without a membership. Takes a seat.",
        request=schema.ScimUserInput,
        responses={201: schema.ScimUserOutput, **schema.SCIM_WRITE, **schema.S409},
    )
    def post(self, request: Request) -> Response:
        person = scim_user_create(
            tenant=self.tenant, attributes=user_attributes_parse(request.data)
        )
        body = resources.user_resource(request, person)
        return Response(body, status=201, headers={"Location": body["meta"]["location"]})


class ScimUserDetailApi(ScimApi):
    @extend_schema(
        tags=TAGS,
        summary="Get a SCIM User",
        operation_id="scim_user_get",
        description="A member, or a person provisioning deactivated (`active: false`).",
        parameters=schema.SHAPE,
        responses={200: schema.ScimUserOutput, **schema.S400, **schema.SCIM_READ},
    )
    def get(self, request: Request, user_id: str) -> Response:
        person = scim_person_get(tenant=self.tenant, user_id=_user_id(user_id))
        return Response(_shaped(request, resources.user_resource(request, person)))

    @extend_schema(
        tags=TAGS,
        summary="Replace a SCIM User",
        operation_id="scim_user_replace",
        description="Sets `externalId` and `active` (false ends the membership at the next "
        "request; true restores it with its role). `userName` must be the account's.",
        request=schema.ScimUserInput,
        responses={200: schema.ScimUserOutput, **schema.SCIM_WRITE},
    )
    def put(self, request: Request, user_id: str) -> Response:
        attributes = user_attributes_parse(request.data)
        person = scim_user_replace(
            tenant=self.tenant, user_id=_user_id(user_id), attributes=attributes
        )
        return Response(resources.user_resource(request, person))

    @extend_schema(
        tags=TAGS,
        summary="Update a SCIM User",
        operation_id="scim_user_update",
        description="RFC 7644 PatchOp: `add`, `replace` or `remove` of `active` and "
        "`externalId`, with or without a `path`.",
        request=schema.ScimPatch,
        responses={200: schema.ScimUserOutput, **schema.SCIM_WRITE},
    )
    def patch(self, request: Request, user_id: str) -> Response:
        patch = user_patch_apply(patch_operations_parse(request.data))
        person = scim_user_patch(tenant=self.tenant, user_id=_user_id(user_id), patch=patch)
        return Response(resources.user_resource(request, person))

    @extend_schema(
        tags=TAGS,
        summary="Remove a SCIM User",
        operation_id="scim_user_delete",
        description="Ends the membership (at the next request) and forgets the person here; "
        "their account, which may belong to other organizations, stays. Not the owner.",
        responses={204: None, **schema.SCIM_READ},
    )
    def delete(self, request: Request, user_id: str) -> Response:
        scim_user_delete(tenant=self.tenant, user_id=_user_id(user_id))
        return Response(status=204)


class ScimGroupsApi(ScimApi):
    @extend_schema(
        tags=TAGS,
        summary="List SCIM Groups (roles)",
        operation_id="scim_groups_query",
        description="One group per role a member can hold: admin, billing, member, viewer. "
        "Its members are the members with that role (the owner is in none).",
        parameters=[schema.GROUP_FILTER, schema.START_INDEX, schema.COUNT, *schema.SHAPE],
        responses={200: schema.ScimGroupList, **schema.S400, **schema.SCIM_READ},
    )
    def get(self, request: Request) -> Response:
        where = filter_parse(request.query_params.get("filter"), attributes=("displayName",))
        start, count = page_parse(
            request.query_params.get("startIndex"),
            request.query_params.get("count"),
            max_count=resources.MAX_RESULTS,
        )
        roles = [r for r in GROUP_ROLES if where is None or r == where.value]
        with_members = "members" not in request.query_params.get("excludedAttributes", "").lower()
        page = roles[start - 1 : start - 1 + count]
        groups = [
            _shaped(
                request,
                resources.group_resource(
                    request,
                    role,
                    scim_group_members(tenant=self.tenant, role=role) if with_members else [],
                    with_members=with_members,
                ),
            )
            for role in page
        ]
        return Response(resources.list_response(groups, total=len(roles), start=start))


class ScimGroupDetailApi(ScimApi):
    def _answer(self, request: Request, role: str) -> Response:
        members = scim_group_members(tenant=self.tenant, role=role)
        return Response(_shaped(request, resources.group_resource(request, role, members)))

    @extend_schema(
        tags=TAGS,
        summary="Get a SCIM Group (role)",
        operation_id="scim_group_get",
        description="The role's group and the members who hold it.",
        parameters=schema.SHAPE,
        responses={200: schema.ScimGroupOutput, **schema.S400, **schema.SCIM_READ},
    )
    def get(self, request: Request, group_id: str) -> Response:
        return self._answer(request, scim_group_role(group_id=group_id))

    @extend_schema(
        tags=TAGS,
        summary="Replace a SCIM Group's members",
        operation_id="scim_group_replace",
        description="The members given hold the role afterwards; members who held it and are "
        "not given fall back to member. The owner cannot be moved.",
        request=schema.ScimGroupInput,
        responses={200: schema.ScimGroupOutput, **schema.SCIM_WRITE},
    )
    def put(self, request: Request, group_id: str) -> Response:
        role = scim_group_role(group_id=group_id)
        data = request.data if isinstance(request.data, dict) else {}
        shown = {str(k).lower(): v for k, v in data.items()}.get("displayname")
        if shown is not None and shown != role:
            raise invalid_value("A group's displayName is its role's and cannot change.")
        scim_group_replace(tenant=self.tenant, role=role, members=group_members_parse(request.data))
        return self._answer(request, role)

    @extend_schema(
        tags=TAGS,
        summary="Update a SCIM Group's members",
        operation_id="scim_group_update",
        description="RFC 7644 PatchOp on `members`: `add` gives the role, `remove` (also "
        '`members[value eq "<id>"]`) falls back to member, `replace` sets the whole list.',
        request=schema.ScimPatch,
        responses={200: schema.ScimGroupOutput, **schema.SCIM_WRITE},
    )
    def patch(self, request: Request, group_id: str) -> Response:
        role = scim_group_role(group_id=group_id)
        patch = group_patch_apply(patch_operations_parse(request.data))
        scim_group_patch(tenant=self.tenant, role=role, patch=patch)
        return self._answer(request, role)


class ScimUnknownApi(ScimApi):
    """Any other path under /scim/v2/: RFC 7644's 404, after authentication (an unknown
    path tells a caller without a token nothing)."""

    def _unknown(self, request: Request, path: str) -> Response:
        raise not_found(f"No SCIM endpoint at /scim/v2/{path}.")

    get = post = put = patch = delete = extend_schema(exclude=True)(_unknown)


class ScimSearchApi(ScimApi):
    """POST .../.search (RFC 7644 section 3.4.3) is not offered: 501, as the RFC names for
    an operation a service provider does not support; GET with `filter` does the same."""

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        raise ScimError("Searching with POST is not supported; use GET with filter.", status=501)


class ScimServiceProviderConfigApi(ScimApi):
    @extend_schema(
        tags=TAGS,
        summary="SCIM service provider configuration",
        operation_id="scim_service_provider_config",
        description="What this SCIM service supports: PATCH and filters yes; bulk, sort, "
        "ETags and password changes no.",
        responses={200: schema.DISCOVERY, **schema.SCIM_READ},
    )
    def get(self, request: Request) -> Response:
        return Response(resources.service_provider_config(request))


def _one(items: list[dict[str, Any]], item_id: str, what: str) -> dict[str, Any]:
    for item in items:
        if item["id"] == item_id:
            return item
    raise not_found(f"{what} {item_id!r} not found.")


class ScimResourceTypesApi(ScimApi):
    @extend_schema(
        tags=TAGS,
        summary="SCIM resource types",
        operation_id="scim_resource_types",
        description="User and Group.",
        responses={200: schema.DISCOVERY, **schema.SCIM_READ},
    )
    def get(self, request: Request) -> Response:
        found = resources.resource_types(request)
        return Response(resources.list_response(found, total=len(found), start=1))


class ScimResourceTypeDetailApi(ScimApi):
    @extend_schema(
        tags=TAGS,
        summary="A SCIM resource type",
        operation_id="scim_resource_type",
        description="User or Group.",
        responses={200: schema.DISCOVERY, **schema.SCIM_READ},
    )
    def get(self, request: Request, name: str) -> Response:
        return Response(_one(resources.resource_types(request), name, "ResourceType"))


class ScimSchemasApi(ScimApi):
    @extend_schema(
        tags=TAGS,
        summary="SCIM schemas",
        operation_id="scim_schemas",
        description="The User and Group attributes this service knows.",
        responses={200: schema.DISCOVERY, **schema.SCIM_READ},
    )
    def get(self, request: Request) -> Response:
        found = resources.schemas(request)
        return Response(resources.list_response(found, total=len(found), start=1))


class ScimSchemaDetailApi(ScimApi):
    @extend_schema(
        tags=TAGS,
        summary="A SCIM schema",
        operation_id="scim_schema",
        description="The User or Group schema, by its URN.",
        responses={200: schema.DISCOVERY, **schema.SCIM_READ},
    )
    def get(self, request: Request, schema_id: str) -> Response:
        return Response(_one(resources.schemas(request), schema_id, "Schema"))
