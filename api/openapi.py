"""How the OpenAPI document names things, so that clients generated from it read well
(`make sdk`; tests/api/test_generated_client.py drives one).

- Components: a serializer's class name without `Serializer`, `Input` or `Output`
  (`ProjectOutput` -> `Project`, `ProjectCreateInput` -> `ProjectCreateRequest`, as
  COMPONENT_SPLIT_REQUEST adds `Request` to request bodies). Name a serializer for what it
  is (`InvitationAcceptInput`, not a nested `AcceptInput`): the name is the client's class.
- Enums: `x-enum-varnames` where the values make poor identifiers: an ordering's
  `-created_at` is `CREATED_AT_DESC`, and an integer choice is named by its label
  (`PriorityEnum.HIGH`, not `VALUE_3`).
- Strings sent to the server carry a pattern unless they have one, a format or an enum:
  every string field refuses a NUL character (PostgreSQL text cannot hold one), and one that
  may not be blank refuses whitespace only (DRF trims it first), so the schema says what the
  server accepts (the fuzzer checks it).
- Operation ids: drf-spectacular's `<path>_<action>`, except that a POST on a path with no
  GET is an action, not a create, and loses the `_create` suffix (`auth_login`,
  `billing_subscription_cancel`, `signup`). They become the clients' function names.
"""

import re
from collections.abc import Iterator
from typing import Any

from django.core.validators import ProhibitNullCharactersValidator, RegexValidator
from drf_spectacular import openapi
from drf_spectacular.drainage import warn
from drf_spectacular.utils import Direction
from rest_framework import serializers

from saas.validators import SPACE_CLASS

_SUFFIXES = ("Serializer", "Output", "Input")
NUL_FREE = r"^[^\x00]*$"


NOT_BLANK = rf"^[^\x00]*[^{SPACE_CLASS}\x00][^\x00]*$"  # and not whitespace only
BLANK = rf"^[{SPACE_CLASS}]*$"


class AutoSchema(openapi.AutoSchema):
    def get_serializer_name(self, serializer: serializers.Serializer, direction: Direction) -> str:
        name = super().get_serializer_name(serializer, direction)
        for suffix in _SUFFIXES:
            if name.endswith(suffix) and name != suffix:
                name = name.removesuffix(suffix)
        return name

    def _map_serializer_field(
        self, field: serializers.Field, direction: Direction, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            direction == "request"
            and schema.get("type") == "string"
            and not {"pattern", "format", "enum"} & schema.keys()
            and any(isinstance(v, ProhibitNullCharactersValidator) for v in field.validators)
            # A RegexValidator's pattern is added after this (and says more).
            and not any(isinstance(v, RegexValidator) for v in field.validators)
        ):
            blank_refused = getattr(field, "trim_whitespace", False) and not getattr(
                field, "allow_blank", True
            )
            schema["pattern"] = NOT_BLANK if blank_refused else NUL_FREE
        return schema

    def _insert_field_validators(self, field: serializers.Field, schema: dict[str, Any]) -> None:
        super()._insert_field_validators(field, schema)
        # drf-spectacular offers "" beside a pattern or format where blank is allowed; DRF
        # trims first, so whitespace only is that blank too.
        blank = {"type": "string", "maxLength": 0}
        if getattr(field, "trim_whitespace", False) and blank in schema.get("oneOf", []):
            schema["oneOf"][schema["oneOf"].index(blank)] = {"type": "string", "pattern": BLANK}


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
