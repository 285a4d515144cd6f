"""Serializer bases for write bodies: no silent mass assignment, no type coercion."""

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.plumbing import get_doc
from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """Rejects unknown keys and non-string values for string fields.

    DRF would quietly drop unknown keys and turn 123 into "123"; an API that accepts either
    hides client bugs.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            errors: dict[str, list[str]] = {}
            for key in sorted(set(data) - set(self.fields)):
                errors[key] = ["Unknown field."]
            for name, field in self.fields.items():
                value = data.get(name)
                if isinstance(field, serializers.CharField) and value is not None:
                    if not isinstance(value, str):
                        errors[name] = ["Must be a string."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


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
