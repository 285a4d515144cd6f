"""Serializer bases for write bodies: no silent mass assignment, no type coercion, every
invalid field reported at once; for query parameters, validated as sent; and the one
ChoiceField, whose refusal names the allowed values."""

import functools
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.plumbing import get_doc
from rest_framework import serializers

from saas.errors import InvalidInput

_SHOWN_INPUT = 50  # characters of a refused value repeated in the message


class ChoiceField(serializers.ChoiceField):
    """DRF's ChoiceField, but a refused value is answered with the values that are allowed:
    `"bogus" is not a valid choice; expected one of: todo, in_progress, done.` Every
    serializer of this project uses it (tests/api/test_input_errors.py checks)."""

    default_error_messages = {
        "invalid_choice": '"{input}" is not a valid choice; expected one of: {choices}.'
    }

    def fail(self, key: str, **kwargs: Any) -> NoReturn:
        if key == "invalid_choice":
            shown = str(kwargs.get("input", ""))
            if len(shown) > _SHOWN_INPUT:
                shown = shown[:_SHOWN_INPUT] + "..."
            kwargs.update(input=shown, choices=", ".join(self.choice_strings_to_values))
        super().fail(key, **kwargs)


def _reporting(field: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """A `validate_<field>` whose InvalidInput becomes that field's error (so validation goes
    on with the other fields) and is remembered (see StrictSerializer._refuse)."""

    @functools.wraps(method)
    def validate(self: "StrictSerializer", value: Any) -> Any:
        try:
            return method(self, value)
        except InvalidInput as exc:
            self.__dict__.setdefault("_service_errors", []).append((field, exc))
            messages = (exc.extra.get("fields") or {}).get(field) or [exc.message]
            raise serializers.ValidationError(messages, code=exc.code) from None

    validate._reports_service_errors = True  # type: ignore[attr-defined]
    return validate


class StrictSerializer(serializers.Serializer):
    """Rejects unknown keys and non-string values for string fields, and reports every
    invalid field in one 400.

    DRF would quietly drop unknown keys and turn 123 into "123"; an API that accepts either
    hides client bugs. Those refusals are merged with the fields' own errors, and a
    `validate_<field>` method may call a service's check that raises InvalidInput (a slug,
    a password's strength, an assignee): it becomes that field's error beside the others.
    When such a check is the only problem, its own error is raised unchanged (its code, e.g.
    `weak_password`, and message stay what the service says).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, attr in list(vars(cls).items()):
            if name.startswith("validate_") and callable(attr):
                if not getattr(attr, "_reports_service_errors", False):
                    setattr(cls, name, _reporting(name.removeprefix("validate_"), attr))

    def to_internal_value(self, data: Any) -> Any:
        self._service_errors: list[tuple[str, InvalidInput]] = []
        strict = self._strict_errors(data) if isinstance(data, Mapping) else {}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            self._refuse({**exc.detail, **strict}, strict)
        if strict:
            self._refuse(strict, strict)
        return value

    def _strict_errors(self, data: Mapping[str, Any]) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        for key in sorted(set(data) - set(self.fields)):
            errors[key] = ["Unknown field."]
        for name, field in self.fields.items():
            value = data.get(name)
            if isinstance(field, serializers.CharField) and value is not None:
                if not isinstance(value, str):
                    errors[name] = ["Must be a string."]
        return errors

    def _refuse(self, errors: dict[str, Any], strict: dict[str, Any]) -> NoReturn:
        if self.parent is None and not strict and len(self._service_errors) == 1:
            field, exc = self._service_errors[0]
            if set(errors) == {field}:
                raise exc
        raise serializers.ValidationError(errors)


class StrictSerializerSchema(OpenApiSerializerExtension):
    """Documents what StrictSerializer enforces: request bodies take no unknown keys."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> Any:
        if getattr(self.target, "complete_on_patch", False):
            self.target.partial = False  # a PATCH body the view validates whole
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        if schema.get("description") == get_doc(StrictSerializer):
            # Inherited, about this class's code: no description of that body for clients.
            del schema["description"]
        return schema


class QuerySerializer(serializers.Serializer):
    """Query parameters, validated as sent (BaseApi.query).

    DRF reads a QueryDict like an HTML form, where a blank value means "not given": `?status=`
    would list everything instead of being refused. Validated as a plain mapping (a
    parameter given twice counts once, its last value), a blank value is checked like any
    other, so the server accepts exactly what the schema says.
    """

    def __init__(self, data: Any = serializers.empty, **kwargs: Any) -> None:
        if hasattr(data, "dict"):  # a QueryDict
            data = data.dict()
        super().__init__(data=data, **kwargs)


def query_defaults(serializer_class: type[QuerySerializer]) -> dict[str, Any] | None:
    """What `serializer_class` validates an empty query string to, without running it: each
    declared field's default, in field order (a fresh dict per call). None when that cannot
    be known without running the serializer (a required field, a callable or mutable
    default, a `validate_<field>` or `validate` method, serializer validators, a field with
    a source): then validate as usual.

    Issue 14: validating an empty query string cost 0.30 ms of a 5.6 ms task-list request.
    tests/api/test_query_parameters.py checks that this equals the serializer's output for
    an empty query, for every query serializer that has such defaults.
    """
    known = _query_defaults(serializer_class)
    return None if known is None else dict(known)


@functools.cache
def _query_defaults(serializer_class: type[QuerySerializer]) -> tuple[tuple[str, Any], ...] | None:
    if serializer_class.validate is not serializers.Serializer.validate:
        return None
    if getattr(getattr(serializer_class, "Meta", None), "validators", None):
        return None
    defaults = []
    fields: dict[str, serializers.Field] = serializer_class._declared_fields
    for name, field in fields.items():
        if hasattr(serializer_class, f"validate_{name}"):
            return None
        if field.read_only or field.source not in (None, name):
            return None
        if field.default is serializers.empty:
            if field.required:
                return None
            continue
        if not isinstance(field.default, str | int | float | None):
            return None  # callable (called per validation) or mutable: leave it to DRF
        defaults.append((name, field.default))
    return tuple(defaults)


class PageQuery(QuerySerializer):
    """The page-number list parameters (api.pagination.PageNumberPagination)."""

    page = serializers.IntegerField(
        required=False, min_value=1, help_text="Page number, from 1 (past the last page: 404)."
    )
    page_size = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=f"Items per page (default {settings.API_PAGE_SIZE}; more than "
        f"{settings.API_MAX_PAGE_SIZE} counts as {settings.API_MAX_PAGE_SIZE}).",
    )
