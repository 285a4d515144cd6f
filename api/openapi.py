"""How the OpenAPI document names things, so that clients generated from it read well
(`make sdk`; tests/api/test_generated_client.py drives one).

- Components: a serializer's class name without `Serializer`, `Input` or `Output`
  (`ProjectOutput` -> `Project`, `ProjectCreateInput` -> `ProjectCreateRequest`, as
  COMPONENT_SPLIT_REQUEST adds `Request` to request bodies). Name a serializer for what it
  is (`InvitationAcceptInput`, not a nested `AcceptInput`): the name is the client's class.
- Enums: `x-enum-varnames` where the values make poor identifiers: an ordering's
  `-created_at` is `CREATED_AT_DESC`, and an integer choice is named by its label
  (`PriorityEnum.HIGH`, not `VALUE_3`).
- Operation ids: drf-spectacular's `<path>_<action>`, except that a POST on a path with no
  GET is an action, not a create, and loses the `_create` suffix (`auth_login`,
  `billing_subscription_cancel`, `signup`). They become the clients' function names.
"""

import re
from collections.abc import Iterator
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.drainage import warn
from drf_spectacular.utils import Direction
from rest_framework import serializers

_SUFFIXES = ("Serializer", "Output", "Input")


class AutoSchema(openapi.AutoSchema):
    def get_serializer_name(self, serializer: serializers.Serializer, direction: Direction) -> str:
        name = super().get_serializer_name(serializer, direction)
        for suffix in _SUFFIXES:
            if name.endswith(suffix) and name != suffix:
                name = name.removesuffix(suffix)
        return name


def client_names_postprocess(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    for schema in list(_schemas_in(result)):
        if "enum" in schema and "x-enum-varnames" not in schema:
            names = _enum_varnames(schema)
            if names is not None:
                schema["x-enum-varnames"] = names
    return _operation_ids(result)


def _schemas_in(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas_in(value)


# drf-spectacular describes each choice as "* `value` - Label" (ENUM_GENERATE_CHOICE_DESCRIPTION).
_CHOICE = re.compile(r"^\* `(?P<value>[^`]*)` - (?P<label>.+)$", re.MULTILINE)


def _identifier(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").upper()


def _enum_varnames(schema: dict[str, Any]) -> list[str] | None:
    values = [value for value in schema["enum"] if value is not None]
    if len(values) != len(schema["enum"]):
        return None
    if all(isinstance(value, int) for value in values):
        labels = {m["value"]: m["label"] for m in _CHOICE.finditer(schema.get("description", ""))}
        names = [_identifier(labels.get(str(value), "")) for value in values]
    elif all(isinstance(value, str) for value in values) and any(
        value.startswith("-") for value in values
    ):
        names = [
            _identifier(value) + ("_DESC" if value.startswith("-") else "") for value in values
        ]
    else:
        return None
    if not all(names) or len(set(names)) != len(names) or names[0][0].isdigit():
        return None
    return names


def _operation_ids(result: dict[str, Any]) -> dict[str, Any]:
    """POST-only paths are actions: `auth_login_create` -> `auth_login`."""
    for item in result.get("paths", {}).values():
        operation = item.get("post")
        if operation is None or "get" in item:
            continue
        operation_id = operation.get("operationId", "")
        if operation_id.endswith("_create"):
            operation["operationId"] = operation_id.removesuffix("_create")
    seen: set[str] = set()
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "operationId" in operation:
                operation_id = operation["operationId"]
                if operation_id in seen:
                    warn(f"operationId {operation_id} is used twice: name one of them")
                seen.add(operation_id)
    return result
