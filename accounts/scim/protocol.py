"""What a SCIM request body says, checked before anything is written: a User's attributes,
a PatchOp's operations, a Group's members. Attribute names are case-insensitive (RFC 7643
section 2.1). Every refusal is a 400 with the RFC's scimType.

What is kept of a User: userName (the account's email), externalId, active, and a name for
an account provisioning creates. A person's account is their own and may belong to other
organizations, so the name and email of an existing account never change through one
organization's IdP; the other attributes of the core and enterprise schemas (emails,
phoneNumbers, title...) are accepted and not stored, as IdPs send them whatever the
service provider keeps."""

import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from saas.validators import single_line

from .errors import invalid_path, invalid_syntax, invalid_value, no_target

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
MAX_EXTERNAL_ID = 255
MAX_OPERATIONS = 100
# An attribute path: attribute, optional [filter], optional .subAttribute; or a schema URN
# and attribute (urn:...:User:name.givenName). Refused beyond this shape.
_PATH = re.compile(r"[A-Za-z][\w:.$-]{0,200}(\[[^\[\]]{1,300}\])?(\.[A-Za-z]\w{0,60})?")
_MEMBER_FILTER = re.compile(r'members\[\s*value\s+eq\s+"([^"\\]{1,64})"\s*\]', re.IGNORECASE)


def _lower_keys(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid_syntax(f"The {what} must be a JSON object.")
    return {str(key).lower(): value for key, value in body.items()}


def _schemas_check(body: dict[str, Any], expected: str) -> None:
    schemas = body.get("schemas")
    if schemas is None:
        return
    if not isinstance(schemas, list) or expected not in schemas:
        raise invalid_value(f"`schemas` must list {expected}.")


def _string(value: Any, name: str, *, max_length: int, allow_none: bool = False) -> str | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or not value.strip():
        raise invalid_value(f"`{name}` must be a non-empty string.")
    if len(value) > max_length:
        raise invalid_value(f"`{name}` is at most {max_length} characters.")
    if "\x00" in value:
        raise invalid_value(f"`{name}` contains a NUL character.")
    return value


def user_name_clean(value: Any) -> str:
    """userName is the account's email address, stored lower-cased as accounts store it."""
    text = _string(value, "userName", max_length=254) or ""
    try:
        validate_email(text)
    except ValidationError:
        raise invalid_value("`userName` must be an email address.") from None
    return text.strip().lower()


def active_clean(value: Any) -> bool:
    # Some IdPs (Microsoft Entra ID) send booleans as the strings "True" and "False".
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid_value("`active` must be true or false.")


def external_id_clean(value: Any) -> str | None:
    return _string(value, "externalId", max_length=MAX_EXTERNAL_ID, allow_none=True)


def _full_name(body: dict[str, Any]) -> str:
    name = body.get("name")
    text = ""
    if isinstance(name, dict):
        parts = {str(k).lower(): v for k, v in name.items()}
        formatted = parts.get("formatted")
        given, family = parts.get("givenname"), parts.get("familyname")
        if isinstance(formatted, str) and formatted.strip():
            text = formatted
        else:
            text = " ".join(p for p in (given, family) if isinstance(p, str) and p.strip())
    elif name is not None:
        raise invalid_value("`name` must be an object.")
    display = body.get("displayname")
    if not text and isinstance(display, str):
        text = display
    text = text.strip()[:200]
    if text:
        try:
            single_line(text)
        except ValidationError:
            raise invalid_value("`name` must be a single line.") from None
    return text


@dataclass(frozen=True)
class UserAttributes:
    user_name: str
    external_id: str | None
    active: bool
    full_name: str = ""


def user_attributes_parse(body: Any) -> UserAttributes:
    """A full User (POST or PUT)."""
    data = _lower_keys(body, "User")
    _schemas_check(data, USER_SCHEMA)
    if "username" not in data:
        raise invalid_value("`userName` is required.")
    return UserAttributes(
        user_name=user_name_clean(data["username"]),
        external_id=external_id_clean(data.get("externalid")),
        active=active_clean(data["active"]) if "active" in data else True,
        full_name=_full_name(data),
    )


@dataclass(frozen=True)
class Operation:
    op: str  # add, replace or remove
    path: str | None
    value: Any = None


def patch_operations_parse(body: Any) -> list[Operation]:
    data = _lower_keys(body, "PatchOp")
    schemas = data.get("schemas")
    if not isinstance(schemas, list) or PATCH_SCHEMA not in schemas:
        raise invalid_value(f"`schemas` must list {PATCH_SCHEMA}.")
    raw_ops = data.get("operations")
    if not isinstance(raw_ops, list) or not raw_ops:
        raise invalid_syntax("`Operations` must be a non-empty list.")
    if len(raw_ops) > MAX_OPERATIONS:
        raise invalid_syntax(f"At most {MAX_OPERATIONS} operations per request.")
    operations = []
    for raw in raw_ops:
        item = _lower_keys(raw, "operation")
        op = item.get("op")
        if not isinstance(op, str) or op.lower() not in ("add", "replace", "remove"):
            raise invalid_syntax("`op` must be add, replace or remove.")
        path = item.get("path")
        if path is not None and (not isinstance(path, str) or not _PATH.fullmatch(path.strip())):
            raise invalid_path("`path` is not a valid attribute path.")
        if op.lower() != "remove" and "value" not in item:
            raise invalid_syntax(f"`{op}` needs a `value`.")
        if op.lower() == "remove" and path is None:
            raise no_target("`remove` needs a `path`.")
        operations.append(
            Operation(op=op.lower(), path=path.strip() if path else None, value=item.get("value"))
        )
    return operations


def _attribute(path: str) -> str:
    """The attribute a path names, lower-cased, without a core schema URN prefix."""
    lowered = path.lower()
    for schema in (USER_SCHEMA, GROUP_SCHEMA):
        if lowered.startswith(schema.lower() + ":"):
            return lowered[len(schema) + 1 :]
    return lowered


@dataclass
class UserPatch:
    """What a PatchOp on a User changes; None: unchanged."""

    active: bool | None = None
    external_id: str | None = None
    external_id_set: bool = False
    user_name: str | None = None


def user_patch_apply(operations: list[Operation]) -> UserPatch:
    patch = UserPatch()

    def apply(op: str, attribute: str, value: Any) -> None:
        if attribute == "active":
            if op == "remove":
                raise invalid_value("`active` cannot be removed; set it to false.")
            patch.active = active_clean(value)
        elif attribute == "externalid":
            patch.external_id = None if op == "remove" else external_id_clean(value)
            patch.external_id_set = True
        elif attribute == "username":
            if op == "remove":
                raise invalid_value("`userName` cannot be removed.")
            patch.user_name = user_name_clean(value)
        # Anything else (name, emails, enterprise attributes...) is not stored (module doc).

    for operation in operations:
        if operation.path is None:
            values = _lower_keys(operation.value, "value")
            for key, value in values.items():
                apply(operation.op, _attribute(key), value)
        else:
            apply(operation.op, _attribute(operation.path), operation.value)
    return patch


def _member_ids(value: Any) -> list[int]:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise invalid_value('`members` must be a list of {"value": id}.')
    ids = []
    for item in value:
        raw = item.get("value") if isinstance(item, dict) else None
        ids.append(_member_id(raw))
    return ids


def _member_id(raw: Any) -> int:
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    raise invalid_value("A member's `value` must be the id of a User.")


@dataclass
class GroupPatch:
    """Members to add, to remove, or the whole new member list (`replace`)."""

    add: list[int] = field(default_factory=list)
    remove: list[int] = field(default_factory=list)
    replace: list[int] | None = None
    remove_all: bool = False


def group_patch_apply(operations: list[Operation]) -> GroupPatch:
    patch = GroupPatch()
    for operation in operations:
        path = _attribute(operation.path) if operation.path else None
        if path is None:
            values = _lower_keys(operation.value, "value")
            unknown = set(values) - {"members", "displayname", "id", "externalid"}
            if unknown:
                raise invalid_path(f"Groups have no attribute {sorted(unknown)[0]!r} to change.")
            if "displayname" in values:
                raise invalid_value("A group's displayName is its role's and cannot change.")
            if "members" in values:
                _members_op(patch, operation.op, values["members"])
            continue
        match = _MEMBER_FILTER.fullmatch(operation.path or "")
        if match is not None:
            if operation.op != "remove":
                raise invalid_path("Only `remove` takes a members[value eq ...] path.")
            patch.remove.append(_member_id(match.group(1)))
        elif path == "members":
            _members_op(patch, operation.op, operation.value)
        elif path == "displayname":
            raise invalid_value("A group's displayName is its role's and cannot change.")
        else:
            raise invalid_path(f"Groups have no attribute {operation.path!r} to change.")
    return patch


def _members_op(patch: GroupPatch, op: str, value: Any) -> None:
    if op == "add":
        patch.add.extend(_member_ids(value))
    elif op == "replace":
        patch.replace = _member_ids(value)
        patch.add, patch.remove = [], []
    elif value is None:  # remove, no value: every member
        patch.remove_all = True
    else:
        patch.remove.extend(_member_ids(value))


def group_members_parse(body: Any) -> list[int]:
    """A full Group (PUT): its members; its displayName, if sent, must be its own."""
    data = _lower_keys(body, "Group")
    if not data:  # no body at all: never read as "no members"
        raise invalid_syntax("The Group is required.")
    _schemas_check(data, GROUP_SCHEMA)
    return _member_ids(data.get("members") or [])


def page_parse(start_index: str | None, count: str | None, *, max_count: int) -> tuple[int, int]:
    """startIndex (1-based; below 1 means 1) and count (0..max_count; RFC 7644 3.4.2.4)."""

    def number(raw: str | None, name: str, default: int) -> int:
        if raw is None:
            return default
        if not re.fullmatch(r"-?\d{1,9}", raw.strip()):
            raise invalid_value(f"`{name}` must be an integer.")
        return int(raw)

    start = max(number(start_index, "startIndex", 1), 1)
    size = min(max(number(count, "count", max_count), 0), max_count)
    return start, size
