"""The OpenAPI document's `webhooks` section documents every event type of the catalog, and
what a receiver really gets validates against it."""

import json
import time
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from billing.webhooks.services import billing_account_sync
from saas.webhooks_out.catalog import EVENT_TYPES, TEST_EVENT
from saas.webhooks_out.models import WebhookEvent
from saas.webhooks_out.services import webhook_message
from tests.factories import Org
from tests.support.billing import clock_advance, stripe_sdk, subscribe_paid
from tests.support.webhook_receiver import (
    Receiver,
    documented_body,
    register_endpoint,
    undocumented,
)

BILLING = {name for name in EVENT_TYPES if name.split(".")[0] in {"subscription", "invoice"}}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator(urlconf="config.urls").get_schema(request=None, public=True)


def test_every_event_type_is_documented(schema: dict) -> None:
    assert set(schema["webhooks"]) == {*EVENT_TYPES, TEST_EVENT.name}
    for name in schema["webhooks"]:
        operation = schema["webhooks"][name]["post"]
        assert "webhook-signature" in operation["description"]
        ref = documented_body(schema, name)["$ref"].rsplit("/", 1)[1]
        component = schema["components"]["schemas"][ref]
        assert component["properties"]["type"] == {
            "type": "string",
            "const": name,
            "description": "The event type.",
        }
        assert set(component["required"]) == {"type", "timestamp", "data"}


def test_the_new_endpoints_are_in_the_document(schema: dict) -> None:
    paths = {p for p in schema["paths"] if p.startswith("/api/v1/webhook-")}
    assert paths == {
        "/api/v1/webhook-event-types/",
        "/api/v1/webhook-endpoints/",
        "/api/v1/webhook-endpoints/{endpoint_id}/",
        "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret/",
        "/api/v1/webhook-endpoints/{endpoint_id}/test/",
        "/api/v1/webhook-endpoints/{endpoint_id}/deliveries/",
        "/api/v1/webhook-endpoints/{endpoint_id}/deliveries/replay/",
        "/api/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/",
        "/api/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/replay/",
    }


def test_what_is_sent_validates_against_the_document(
    schema: dict, hooks: Org, hook_receiver: Receiver
) -> None:
    endpoint = register_endpoint(hooks, hook_receiver.url(), ["project.*", "task.*", "member.*"])
    project = hooks.ok("post", "projects/", {"name": "Rocket", "description": "to the moon"})
    task = hooks.ok(
        "post", f"projects/{project['id']}/tasks/", {"title": "Fuel", "due_date": "2026-12-24"}
    )
    hooks.ok("patch", f"projects/{project['id']}/tasks/{task['id']}/", {"status": "done"})
    hooks.ok("delete", f"projects/{project['id']}/tasks/{task['id']}/")
    hooks.ok("patch", f"projects/{project['id']}/", {"name": "Moon"})
    hooks.ok("delete", f"projects/{project['id']}/")
    member = hooks.join("member")
    hooks.ok("patch", f"members/{member.user.pk}/", {"role": "viewer"})
    hooks.ok("delete", f"members/{member.user.pk}/")
    sent = hooks.client.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/test/")
    assert sent.status_code == 202
    _assert_documented(schema, hooks, {*EVENT_TYPES} - BILLING | {TEST_EVENT.name})


def test_what_billing_sends_validates_against_the_document(
    schema: dict, hooks: Org, hook_receiver: Receiver, catalog: None
) -> None:
    """Billing's events, as the mirror records them when Stripe's state changes (here
    mirrored by the nightly repair, billing_account_sync; the journey over Stripe's real
    webhooks is test_billing_events.py): a subscription on a test clock, its renewal's
    payment failing, then canceled at once."""
    register_endpoint(hooks, hook_receiver.url(), ["subscription.*", "invoice.*"])
    account = subscribe_paid(hooks.tenant, "starter-monthly", clock_at=int(time.time()))
    billing_account_sync(tenant=hooks.tenant)  # its first invoice
    client, customer = stripe_sdk(), account.stripe_customer_id or ""
    card: Any = {"customer": customer}
    declined = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", card)
    client.v1.customers.update(
        customer, {"invoice_settings": {"default_payment_method": declined.id}}
    )
    assert account.current_period_end is not None
    clock_advance(customer, int(account.current_period_end.timestamp()) + 3600)
    billing_account_sync(tenant=hooks.tenant)  # renewed, its payment failed: past due
    client.v1.subscriptions.cancel(account.stripe_subscription_id or "")
    billing_account_sync(tenant=hooks.tenant)
    _assert_documented(schema, hooks, BILLING)


def _assert_documented(schema: dict, org: Org, types: set[str]) -> None:
    """Every type of `types` was recorded, and each event's body is as documented."""
    with org.tenant:
        events = list(WebhookEvent.objects.all())
    assert {event.type for event in events} == types
    for event in events:
        body: Any = json.loads(webhook_message(event))
        assert undocumented(schema, body) == [], event.type
