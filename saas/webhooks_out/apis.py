"""/api/v1/webhook-endpoints/ and /api/v1/webhook-event-types/ on an organization's host: its
owners and admins register endpoints, see deliveries, replay them, send a test event and
rotate the signing secret. Thin views over services and selectors."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import Capability
from accounts.tenant_api import TenantApi
from api.docs import E400, E402, E409, ERRORS_READ, ERRORS_WRITE, paginated
from api.no_store import NoStoreMixin
from api.serializers import PageQuery

from . import selectors, services
from .catalog import EVENT_TYPES, WILDCARDS
from .serializers import (
    ENDPOINT_CREATE_EXAMPLE,
    WebhookDeliveryDetailOutput,
    WebhookDeliveryListQuery,
    WebhookDeliveryOutput,
    WebhookEndpointCreateInput,
    WebhookEndpointOutput,
    WebhookEndpointUpdateInput,
    WebhookEndpointWithSecretOutput,
    WebhookEventCatalogOutput,
    WebhookReplayRangeInput,
    WebhookReplayRangeOutput,
)

TAGS = ["webhooks"]
# Endpoints are organization settings, like its domains and CORS origins: owners and admins.
MANAGE = Capability.MEMBERS_MANAGE
_OWNERS_ADMINS = " Owners and admins."
_FEATURE = " On plans with the `api` feature (402 otherwise)."


CATALOG = {
    "event_types": [
        {"name": e.name, "description": e.description, "ordered": e.ordered}
        for e in EVENT_TYPES.values()
    ],
    "wildcards": [{"name": w, "description": f"Every {w[:-2]} event."} for w in WILDCARDS],
}


def _with_secret(endpoint: object, secret: str) -> dict:
    return {**WebhookEndpointOutput(endpoint).data, "secret": secret}


class WebhookEventTypeListApi(TenantApi):
    capabilities = {"GET": MANAGE}

    @extend_schema(
        tags=TAGS,
        summary="The webhook event catalog",
        operation_id="webhook_event_catalog",
        description="The catalog an endpoint subscribes from (a short, fixed list, so not "
        "paginated): every event type with what it means, and each group's wildcard "
        "(`project.*`). Each type's payload is documented in this document's `webhooks` "
        "section." + _OWNERS_ADMINS,
        responses={200: WebhookEventCatalogOutput, **ERRORS_READ},
    )
    def get(self, request: Request) -> Response:
        return Response(CATALOG)


class WebhookEndpointListCreateApi(NoStoreMixin, TenantApi):
    capabilities = {"GET": MANAGE, "POST": MANAGE}

    @extend_schema(
        tags=TAGS,
        summary="List webhook endpoints",
        operation_id="webhook_endpoints_list",
        description="The organization's endpoints (never their secrets)." + _OWNERS_ADMINS,
        parameters=[PageQuery],
        responses={
            200: paginated(WebhookEndpointOutput, name="PaginatedWebhookEndpointList"),
            **E400,
            **ERRORS_READ,
        },
    )
    def get(self, request: Request) -> Response:
        return self.paginate(selectors.webhook_endpoint_list(), WebhookEndpointOutput)

    @extend_schema(
        tags=TAGS,
        summary="Register a webhook endpoint",
        operation_id="webhook_endpoints_create",
        description="Answers 201 with the signing secret, shown this once. The URL must be "
        "https, and its host must resolve to public addresses only (400 naming `url` "
        "otherwise: private, loopback, link-local, multicast). At most "
        "WEBHOOKS_ENDPOINTS_PER_TENANT (10) per organization (409 "
        "webhook_endpoint_limit_reached)." + _FEATURE + _OWNERS_ADMINS,
        request=WebhookEndpointCreateInput,
        responses={201: WebhookEndpointWithSecretOutput, **ERRORS_WRITE, **E402, **E409},
        examples=[ENDPOINT_CREATE_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        data = self.validate(WebhookEndpointCreateInput, request)
        endpoint, secret = services.webhook_endpoint_create(tenant=self.tenant, **data)
        location = request.build_absolute_uri(f"{request.path}{endpoint.pk}/")
        return Response(_with_secret(endpoint, secret), status=201, headers={"Location": location})


class WebhookEndpointDetailApi(TenantApi):
    capabilities = {"GET": MANAGE, "PATCH": MANAGE, "DELETE": MANAGE}

    @extend_schema(
        tags=TAGS,
        summary="Get a webhook endpoint",
        operation_id="webhook_endpoints_retrieve",
        description="Never its secret." + _OWNERS_ADMINS,
        responses={200: WebhookEndpointOutput, **ERRORS_READ},
    )
    def get(self, request: Request, endpoint_id: int) -> Response:
        endpoint = selectors.webhook_endpoint_get(endpoint_id=endpoint_id)
        return Response(WebhookEndpointOutput(endpoint).data)

    @extend_schema(
        tags=TAGS,
        summary="Update a webhook endpoint",
        operation_id="webhook_endpoints_partial_update",
        description="Any of url, event_types, description, enabled. `enabled: true` turns a "
        "disabled endpoint back on; what it missed is not resent by itself (replay it)."
        + _FEATURE
        + _OWNERS_ADMINS,
        request=WebhookEndpointUpdateInput,
        responses={200: WebhookEndpointOutput, **ERRORS_WRITE, **E402},
    )
    def patch(self, request: Request, endpoint_id: int) -> Response:
        data = self.validate(WebhookEndpointUpdateInput, request)
        endpoint = services.webhook_endpoint_update(
            tenant=self.tenant, endpoint_id=endpoint_id, **data
        )
        return Response(WebhookEndpointOutput(endpoint).data)

    @extend_schema(
        tags=TAGS,
        summary="Delete a webhook endpoint",
        operation_id="webhook_endpoints_destroy",
        description="With its delivery log; nothing more is sent to it." + _OWNERS_ADMINS,
        request=None,
        responses={204: OpenApiResponse(description="Deleted."), **ERRORS_READ},
    )
    def delete(self, request: Request, endpoint_id: int) -> Response:
        services.webhook_endpoint_delete(endpoint_id=endpoint_id)
        return Response(status=204)


class WebhookEndpointRotateSecretApi(NoStoreMixin, TenantApi):
    capabilities = {"POST": MANAGE}

    @extend_schema(
        tags=TAGS,
        summary="Rotate a webhook endpoint's secret",
        operation_id="webhook_endpoints_rotate_secret",
        description="A new secret, shown this once. The previous one keeps signing beside it "
        "for WEBHOOKS_SECRET_OVERLAP_SECONDS (24 h): `webhook-signature` then carries two "
        "`v1,` signatures, so a receiver that checks either keeps working while it switches."
        + _OWNERS_ADMINS,
        request=None,
        responses={200: WebhookEndpointWithSecretOutput, **ERRORS_READ},
    )
    def post(self, request: Request, endpoint_id: int) -> Response:
        endpoint, secret = services.webhook_endpoint_secret_rotate(endpoint_id=endpoint_id)
        return Response(_with_secret(endpoint, secret))


class WebhookEndpointTestApi(TenantApi):
    capabilities = {"POST": MANAGE}

    @extend_schema(
        tags=TAGS,
        summary="Send a test event",
        operation_id="webhook_endpoints_send_test",
        description="Queues a `webhook.test` event to this endpoint, delivered, signed and "
        "retried like any other; answers 202 with the delivery to follow. 409 "
        "webhook_endpoint_disabled for a disabled endpoint." + _OWNERS_ADMINS,
        request=None,
        responses={202: WebhookDeliveryOutput, **ERRORS_READ, **E409},
    )
    def post(self, request: Request, endpoint_id: int) -> Response:
        delivery = services.webhook_endpoint_test_send(endpoint_id=endpoint_id)
        return Response(WebhookDeliveryOutput(delivery).data, status=202)


class WebhookDeliveryListApi(TenantApi):
    capabilities = {"GET": MANAGE}

    @extend_schema(
        tags=TAGS,
        summary="List an endpoint's deliveries",
        operation_id="webhook_deliveries_list",
        description="Newest first: each event sent (or being sent) to the endpoint, with its "
        "status, attempts and the last attempt's status code, latency and error. "
        "`status` filters." + _OWNERS_ADMINS,
        parameters=[WebhookDeliveryListQuery],
        responses={
            200: paginated(WebhookDeliveryOutput, name="PaginatedWebhookDeliveryList"),
            **E400,
            **ERRORS_READ,
        },
    )
    def get(self, request: Request, endpoint_id: int) -> Response:
        query = self.query(WebhookDeliveryListQuery)
        deliveries = selectors.webhook_delivery_list(
            endpoint_id=endpoint_id, status=query.get("status")
        )
        return self.paginate(deliveries, WebhookDeliveryOutput)


class WebhookDeliveryDetailApi(TenantApi):
    capabilities = {"GET": MANAGE}

    @extend_schema(
        tags=TAGS,
        summary="Get a delivery with its attempts",
        operation_id="webhook_deliveries_retrieve",
        description="The event's payload and every attempt (status code, latency, the "
        "answer's first bytes, the error)." + _OWNERS_ADMINS,
        responses={200: WebhookDeliveryDetailOutput, **ERRORS_READ},
    )
    def get(self, request: Request, endpoint_id: int, delivery_id: int) -> Response:
        delivery = selectors.webhook_delivery_get(endpoint_id=endpoint_id, delivery_id=delivery_id)
        delivery.attempt_log_rows = selectors.webhook_attempt_list(delivery=delivery)  # type: ignore[attr-defined]
        return Response(WebhookDeliveryDetailOutput(delivery).data)


class WebhookDeliveryReplayApi(TenantApi):
    capabilities = {"POST": MANAGE}

    @extend_schema(
        tags=TAGS,
        summary="Replay a delivery",
        operation_id="webhook_deliveries_replay",
        description="Sends the delivery again now (same `webhook-id`): a delivered or failed "
        "one as a new run of attempts, one waiting for a retry without waiting further; 202. "
        "One already queued or being sent is left as it is (so two replays send once). 409 "
        "webhook_endpoint_disabled when the endpoint is off." + _OWNERS_ADMINS,
        request=None,
        responses={202: WebhookDeliveryOutput, **ERRORS_READ, **E409},
    )
    def post(self, request: Request, endpoint_id: int, delivery_id: int) -> Response:
        delivery = services.webhook_delivery_replay(
            endpoint_id=endpoint_id, delivery_id=delivery_id
        )
        return Response(WebhookDeliveryOutput(delivery).data, status=202)


class WebhookDeliveryReplayRangeApi(TenantApi):
    capabilities = {"POST": MANAGE}

    @extend_schema(
        tags=TAGS,
        summary="Replay deliveries in a time range",
        operation_id="webhook_deliveries_replay_range",
        description="Sends again every delivery of this endpoint created in [since, until) "
        "that is not pending (only failed or delivered ones with `status`), oldest first, at "
        "most 1000 per call; 202 with how many." + _OWNERS_ADMINS,
        request=WebhookReplayRangeInput,
        responses={202: WebhookReplayRangeOutput, **ERRORS_WRITE, **E409},
    )
    def post(self, request: Request, endpoint_id: int) -> Response:
        data = self.validate(WebhookReplayRangeInput, request)
        count = services.webhook_deliveries_replay(endpoint_id=endpoint_id, **data)
        return Response({"replayed": count}, status=202)
