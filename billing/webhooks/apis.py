"""The Stripe webhook endpoint: verify, store, answer. Processing happens in Celery."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import PublicApi
from api.docs import E5XX, E400, E413

from .services import webhook_event_receive

WebhookAck = inline_serializer(
    name="StripeWebhookAck",
    fields={
        "received": serializers.BooleanField(),
        "duplicate": serializers.BooleanField(help_text="Delivered before; stored once."),
    },
)


class StripeWebhookApi(PublicApi):
    """The Stripe-Signature header is the authentication: no session, CSRF or throttle
    (Stripe retries, and a throttled delivery would only come back later)."""

    throttle_classes: list = []

    @extend_schema(
        tags=["billing"],
        summary="Receive a Stripe event",
        description=(
            "Stripe calls this with each event, signed with one of `STRIPE_WEBHOOK_SECRETS` "
            "(`Stripe-Signature: t=...,v1=...` over the raw body, within "
            "`STRIPE_WEBHOOK_TOLERANCE_SECONDS`). The event is stored once under its id and "
            "processed in the background; a repeat answers 200 and changes nothing. Unknown "
            "event types are recorded and ignored."
        ),
        parameters=[
            OpenApiParameter(
                "Stripe-Signature", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True
            )
        ],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: WebhookAck, **E400, **E413, **E5XX},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        received = webhook_event_receive(
            payload=request.body, signature_header=request.headers.get("Stripe-Signature", "")
        )
        return Response({"received": True, "duplicate": not received.created})
