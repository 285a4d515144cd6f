"""The OpenAPI document's `webhooks` section documents every event type of the catalog, and
what a receiver really gets validates against it."""

import json
from typing import Any

import jsonschema
import pytest
from drf_spectacular.generators import SchemaGenerator

from saas.webhooks_out.catalog import EVENT_TYPES, TEST_EVENT
from saas.webhooks_out.models import WebhookEvent
from saas.webhooks_out.services import webhook_message
from tests.factories import Org
from tests.support.webhook_receiver import Receiver, register_endpoint


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator(urlconf="config.urls").get_schema(request=None, public=True)


def _body_schema(schema: dict, event_type: str) -> dict:
    operation = schema["webhooks"][event_type]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    return {**body, "components": schema["components"]}


def test_every_event_type_is_documented(schema: dict) -> None:
    assert set(schema["webhooks"]) == {*EVENT_TYPES, TEST_EVENT.name}
    for name in schema["webhooks"]:
        operation = schema["webhooks"][name]["post"]
        assert "webhook-signature" in operation["description"]
        ref = _body_schema(schema, name)["$ref"].rsplit("/", 1)[1]
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
    with hooks.tenant:
        events = list(WebhookEvent.objects.all())
    assert {event.type for event in events} == {*EVENT_TYPES, TEST_EVENT.name}
    for event in events:
        body: Any = json.loads(webhook_message(event))
        validator = jsonschema.Draft202012Validator(_body_schema(schema, event.type))
        errors = [error.message for error in validator.iter_errors(body)]
        assert errors == [], (event.type, errors)
        component = _body_schema(schema, event.type)["$ref"].rsplit("/", 1)[1]
        data_ref = schema["components"]["schemas"][component]["properties"]["data"]["$ref"]
        documented = schema["components"]["schemas"][data_ref.rsplit("/", 1)[1]]
        assert set(body["data"]) == set(documented["properties"]), event.type
