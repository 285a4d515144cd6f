"""The OpenAPI 3.1 `webhooks` section: one entry per event type of the catalog, the body a
receiver gets (`{"type", "timestamp", "data"}`) with the type's payload, and the Standard
Webhooks headers. config/settings/api.py lists these objects (SPECTACULAR_SETTINGS["WEBHOOKS"]
takes import paths); tests/webhooks_out/test_openapi.py checks every catalog type is there."""

from typing import Any

from drf_spectacular.utils import (
    OpenApiResponse,
    OpenApiWebhook,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers

from .catalog import EVENT_TYPES, TEST_EVENT, EventType

HEADERS = (
    "Sent as a POST with the Standard Webhooks headers: `webhook-id` (the message id: the "
    "same for every attempt and replay, to drop duplicates), `webhook-timestamp` (seconds "
    "since the epoch, of this attempt) and `webhook-signature` (`v1,<base64 HMAC-SHA256>` "
    "over `<webhook-id>.<webhook-timestamp>.<body>` with the endpoint's secret, "
    "base64-decoded after its `whsec_` prefix; two space-separated signatures while a rotated"
    " secret overlaps). Answer 2xx within a few seconds; anything else (a redirect too) is "
    "retried with backoff for about 3 days. Order: the catalog's ordered types (`member.*`, "
    "`subscription.*`; `ordered` in GET /api/v1/webhook-event-types/) are delivered in order "
    "per endpoint, by when the events were recorded: one is not sent while an earlier event "
    "of an ordered type to the same endpoint is still pending (being retried included), and "
    "is sent once that one was delivered or failed for good (after its whole retry schedule)."
    " Other types are not held back and not ordered: order them by `timestamp`."
)


def _const(value: str) -> serializers.Field:
    field_class = extend_schema_field({"type": "string", "const": value})(
        type("EventTypeConstField", (serializers.CharField,), {})
    )
    return field_class(help_text="The event type.")


def event_component_name(name: str) -> str:
    """The schema component of an event type's body: "task.created" -> "TaskCreatedEvent"."""
    return "".join(part.title() for part in name.replace("_", ".").split(".")) + "Event"


def _webhook(event: EventType) -> OpenApiWebhook:
    body = inline_serializer(
        name=event_component_name(event.name),
        fields={
            "type": _const(event.name),
            "timestamp": serializers.DateTimeField(help_text="When the event happened."),
            "data": event.payload(),
        },
    )
    decorator: Any = extend_schema(
        summary=event.description,
        description=HEADERS,
        request=body,
        responses={200: OpenApiResponse(description="Received (any 2xx answer will do).")},
    )
    return OpenApiWebhook(name=event.name, decorator=decorator)


# One module attribute per event type ("project.created" -> project_created), the import
# paths config/settings/api.py names.
WEBHOOKS = {event.name: _webhook(event) for event in [*EVENT_TYPES.values(), TEST_EVENT]}
globals().update({name.replace(".", "_"): webhook for name, webhook in WEBHOOKS.items()})
