from typing import Any

from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from api.serializers import ChoiceField, PageQuery, StrictSerializer

from .catalog import SUBSCRIBABLE
from .models import REPLAYABLE_STATUSES, DeliveryStatus, WebhookEndpoint

_EVENT_TYPES_HELP = (
    "Event types from GET /api/v1/webhook-event-types/ (such as `project.created`), or a "
    "group's wildcard (`project.*`)."
)


class WebhookEndpointCreateInput(StrictSerializer):
    url = serializers.CharField(
        max_length=2000,
        help_text="An https URL whose host resolves to public addresses only (http to "
        "loopback in dev and test only).",
    )
    event_types = serializers.ListField(
        child=ChoiceField(choices=SUBSCRIBABLE),
        min_length=1,
        max_length=len(SUBSCRIBABLE),
        help_text=_EVENT_TYPES_HELP,
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False, default=True)


class WebhookEndpointUpdateInput(StrictSerializer):
    url = serializers.CharField(max_length=2000, required=False)
    event_types = serializers.ListField(
        child=ChoiceField(choices=SUBSCRIBABLE),
        min_length=1,
        max_length=len(SUBSCRIBABLE),
        required=False,
        help_text=_EVENT_TYPES_HELP,
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    enabled = serializers.BooleanField(
        required=False, help_text="true enables a disabled endpoint again (its failures forgotten)."
    )


class WebhookEndpointOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField(help_text="Why it is disabled; empty when enabled.")
    failing_since = serializers.DateTimeField(
        allow_null=True, help_text="Since when every attempt has failed; null after a success."
    )
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True,
        help_text="After a rotation: until when the previous secret still signs too.",
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, instance: WebhookEndpoint) -> dict[str, Any]:
        data = dict(super().to_representation(instance))
        if not instance.previous_secret_encrypted:
            data["previous_secret_expires_at"] = None
        return data


class WebhookEndpointWithSecretOutput(WebhookEndpointOutput):
    secret = serializers.CharField(
        help_text="The signing secret (`whsec_` + base64): shown this once, never again."
    )


class WebhookWildcardOutput(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()


class WebhookEventTypeOutput(WebhookWildcardOutput):
    ordered = serializers.BooleanField(
        help_text="Delivered in order per endpoint: not sent while an earlier event of an "
        "ordered type is still pending for the endpoint."
    )


class WebhookEventCatalogOutput(serializers.Serializer):
    event_types = WebhookEventTypeOutput(many=True)
    wildcards = WebhookWildcardOutput(many=True, help_text="`<group>.*`: every event of a group.")


class WebhookAttemptOutput(serializers.Serializer):
    attempted_at = serializers.DateTimeField()
    succeeded = serializers.BooleanField()
    status_code = serializers.IntegerField(allow_null=True, help_text="null: no HTTP answer.")
    latency_ms = serializers.IntegerField()
    response_excerpt = serializers.CharField(help_text="The answer's first bytes (a few KB).")
    error = serializers.CharField()


class WebhookDeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.CharField(source="event.msg_id", help_text="The `webhook-id` header.")
    event_type = serializers.CharField(source="event.type")
    status = ChoiceField(choices=DeliveryStatus.choices)
    attempts = serializers.IntegerField(help_text="Attempts in the current run.")
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_latency_ms = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class WebhookDeliveryDetailOutput(WebhookDeliveryOutput):
    payload = serializers.JSONField(source="event.data", help_text="The event's `data`.")
    attempt_log = WebhookAttemptOutput(
        many=True, source="attempt_log_rows", help_text="Newest first, at most 50."
    )


class WebhookDeliveryListQuery(PageQuery):
    status = ChoiceField(choices=DeliveryStatus.choices, required=False)


class WebhookReplayRangeInput(StrictSerializer):
    since = serializers.DateTimeField(help_text="Deliveries created at or after this...")
    until = serializers.DateTimeField(help_text="... and before this.")
    status = ChoiceField(
        choices=REPLAYABLE_STATUSES,
        required=False,
        help_text="Only failed (or only delivered) ones; default both.",
    )


class WebhookReplayRangeOutput(serializers.Serializer):
    replayed = serializers.IntegerField(help_text="How many deliveries were queued again.")


ENDPOINT_CREATE_EXAMPLE = OpenApiExample(
    "Register an endpoint",
    value={
        "url": "https://hooks.customer.example/saas",
        "event_types": ["project.*", "task.created"],
        "description": "Our integration",
    },
    request_only=True,
)
