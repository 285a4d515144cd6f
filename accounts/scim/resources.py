"""How provisioned people and role groups look as SCIM resources, and the discovery
documents (ServiceProviderConfig, ResourceTypes, Schemas; RFC 7643 sections 5-7)."""

from typing import Any

from django.http import HttpRequest

from .protocol import GROUP_SCHEMA, LIST_SCHEMA, USER_SCHEMA
from .selectors import ScimPerson

BASE = "/scim/v2"
MAX_RESULTS = 100
_SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
_RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
_SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"


def location(request: HttpRequest, path: str) -> str:
    return request.build_absolute_uri(f"{BASE}/{path}")


def user_resource(request: HttpRequest, person: ScimPerson) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "id": str(person.user_id),
        "userName": person.email,
        "displayName": person.full_name or person.email,
        "emails": [{"value": person.email, "type": "work", "primary": True}],
        "active": person.active,
        "groups": [],
        "meta": {
            "resourceType": "User",
            "created": person.created.isoformat(),
            "lastModified": person.modified.isoformat(),
            "location": location(request, f"Users/{person.user_id}"),
        },
    }
    if person.active and person.role != "owner":
        body["groups"] = [
            {
                "value": person.role,
                "display": person.role,
                "$ref": location(request, f"Groups/{person.role}"),
            }
        ]
    if person.external_id is not None:
        body["externalId"] = person.external_id
    return body


def group_resource(
    request: HttpRequest, role: str, members: list[tuple[int, str]], *, with_members: bool = True
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [GROUP_SCHEMA],
        "id": role,
        "displayName": role,
        "meta": {"resourceType": "Group", "location": location(request, f"Groups/{role}")},
    }
    if with_members:
        body["members"] = [
            {"value": str(user_id), "display": email, "$ref": location(request, f"Users/{user_id}")}
            for user_id, email in members
        ]
    return body


_ALWAYS = frozenset({"schemas", "id"})  # returned "always" (RFC 7643 section 7)


def attributes_apply(
    resource: dict[str, Any], *, attributes: str | None, excluded: str | None
) -> dict[str, Any]:
    """RFC 7644 section 3.4.2.5: `attributes` (only these) or `excludedAttributes` (all but
    these), comma separated, case-insensitive; a sub-attribute (name.givenName) or a
    schema-qualified name selects its top-level attribute."""

    def names(raw: str) -> set[str]:
        return {
            part.strip().rsplit(":", 1)[-1].split(".", 1)[0].lower()
            for part in raw.split(",")
            if part.strip()
        }

    if attributes:
        wanted = names(attributes)
        return {k: v for k, v in resource.items() if k in _ALWAYS or k.lower() in wanted}
    if excluded:
        dropped = names(excluded)
        return {k: v for k, v in resource.items() if k in _ALWAYS or k.lower() not in dropped}
    return resource


def list_response(resources: list[dict[str, Any]], *, total: int, start: int) -> dict[str, Any]:
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def service_provider_config(request: HttpRequest) -> dict[str, Any]:
    return {
        "schemas": [_SPC_SCHEMA],
        "documentationUri": request.build_absolute_uri("/api/docs/"),
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "SCIM token",
                "description": "A bearer token made by an admin at /api/v1/scim/tokens/ "
                "on this organization's host.",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": location(request, "ServiceProviderConfig"),
        },
    }


def _resource_type(request: HttpRequest, name: str, endpoint: str, schema: str) -> dict[str, Any]:
    return {
        "schemas": [_RESOURCE_TYPE_SCHEMA],
        "id": name,
        "name": name,
        "endpoint": f"/{endpoint}",
        "description": f"{name} of this organization.",
        "schema": schema,
        "schemaExtensions": [],
        "meta": {
            "resourceType": "ResourceType",
            "location": location(request, f"ResourceTypes/{name}"),
        },
    }


def resource_types(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        _resource_type(request, "User", "Users", USER_SCHEMA),
        _resource_type(request, "Group", "Groups", GROUP_SCHEMA),
    ]


def _attribute(
    name: str,
    *,
    type_: str = "string",
    required: bool = False,
    mutability: str = "readWrite",
    uniqueness: str = "none",
    multi: bool = False,
    case_exact: bool = False,
    sub: list[dict[str, Any]] | None = None,
    description: str = "",
) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "name": name,
        "type": type_,
        "multiValued": multi,
        "description": description or name,
        "required": required,
        "caseExact": case_exact,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": uniqueness,
    }
    if sub is not None:
        attribute["subAttributes"] = sub
    return attribute


def _schema(request: HttpRequest, schema_id: str, name: str, attributes: list) -> dict[str, Any]:
    return {
        "schemas": [_SCHEMA_SCHEMA],
        "id": schema_id,
        "name": name,
        "description": f"{name} of this organization.",
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": location(request, f"Schemas/{schema_id}")},
    }


def schemas(request: HttpRequest) -> list[dict[str, Any]]:
    member_ref = [
        _attribute("value", mutability="immutable", description="The User's id."),
        _attribute("display", mutability="readOnly"),
        _attribute("$ref", type_="reference", mutability="readOnly"),
    ]
    user = [
        # Immutable here: the account's email is the person's own (the account may belong to
        # other organizations), set when provisioning creates the account only.
        _attribute(
            "userName",
            required=True,
            mutability="immutable",
            uniqueness="server",
            description="The account's email; it cannot change through SCIM.",
        ),
        # A `name` sent on creation names a new account; the account's name is shown as
        # displayName (read only), the name belonging to the person, not to one organization.
        _attribute("displayName", mutability="readOnly"),
        _attribute("externalId", case_exact=True, description="The identity provider's id."),
        # Required here: a User is a member (true) or deactivated (false), never neither
        # (a create without it means true).
        _attribute(
            "active", type_="boolean", required=True, description="false ends the membership."
        ),
        _attribute(
            "emails",
            type_="complex",
            multi=True,
            mutability="readOnly",
            sub=[_attribute("value"), _attribute("type"), _attribute("primary", type_="boolean")],
        ),
        _attribute("groups", type_="complex", multi=True, mutability="readOnly", sub=member_ref),
    ]
    group = [
        _attribute(
            "displayName",
            required=True,
            mutability="readOnly",
            uniqueness="server",
            description="The role: admin, billing, member or viewer.",
        ),
        _attribute("members", type_="complex", multi=True, sub=member_ref),
    ]
    return [
        _schema(request, USER_SCHEMA, "User", user),
        _schema(request, GROUP_SCHEMA, "Group", group),
    ]
