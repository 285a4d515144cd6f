"""Signed webhook delivery with retries, event listing, persistence, the CLI."""

# The SDK types expandable fields as `str | Object | None`; these tests know what they expanded.
# mypy: disable-error-code="union-attr,arg-type,index,operator"

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import stripe

from stripe_emulator import cli
from stripe_emulator.server import EmulatorServer
from stripe_emulator.webhooks import sign
from tests.support.emulator import Receiver


def test_webhooks_are_signed_like_stripe(
    stripe_client: stripe.StripeClient, receiver: Receiver
) -> None:
    endpoint = stripe.WebhookEndpoint.create(url=receiver.url, enabled_events=["*"])
    assert endpoint.secret.startswith("whsec_")
    assert "secret" not in stripe.WebhookEndpoint.retrieve(endpoint.id)
    customer = stripe.Customer.create(email="hook@example.com")
    receiver.wait_for(lambda r: "customer.created" in r.types())
    signature, body = receiver.deliveries[0]
    event = stripe.Webhook.construct_event(body.decode(), signature, endpoint.secret)
    assert (event.type, event.data.object.id) == ("customer.created", customer.id)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.decode(), signature, "whsec_wrong")
    stripe.Customer.modify(customer.id, name="Renamed")
    receiver.wait_for(lambda r: "customer.updated" in r.types())
    updated = next(
        json.loads(b) for _, b in receiver.deliveries if json.loads(b)["type"] == "customer.updated"
    )
    assert updated["data"]["previous_attributes"] == {"name": None}


def test_failed_delivery_is_retried(stripe_client: stripe.StripeClient, make_receiver: Any) -> None:
    flaky = make_receiver(fail_first=2)
    endpoint = stripe.WebhookEndpoint.create(url=flaky.url, enabled_events=["product.created"])
    stripe.Product.create(name="Retried")
    flaky.wait_for(lambda r: len(r.deliveries) == 1)
    assert flaky.statuses == [500, 500, 200]
    signature, body = flaky.deliveries[0]
    assert (
        stripe.Webhook.construct_event(body.decode(), signature, endpoint.secret).type
        == "product.created"
    )
    event = stripe.Event.list(type="product.created").data[0]
    deadline = time.monotonic() + 5  # the emulator records the success just after replying
    while stripe.Event.retrieve(event.id).pending_webhooks and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [e.id for e in stripe.Event.list(delivery_success=True, type="product.created")] == [
        event.id
    ]


def test_undeliverable_events_are_listed_as_failed(
    stripe_client: stripe.StripeClient, make_receiver: Any
) -> None:
    dead = make_receiver(fail_first=100)
    stripe.WebhookEndpoint.create(url=dead.url, enabled_events=["price.created"])
    product = stripe.Product.create(name="x")
    stripe.Price.create(product=product.id, currency="usd", unit_amount=100)
    dead.wait_for(lambda r: len(r.statuses) == 4)  # the plugin's max attempts
    failed = stripe.Event.list(delivery_success=False)
    assert [e.type for e in failed] == ["price.created"]
    assert {e.type for e in stripe.Event.list(delivery_success=True)} == {"product.created"}


def test_event_filters(stripe_client: stripe.StripeClient) -> None:
    start = int(time.time())
    customer = stripe.Customer.create()
    stripe.Customer.modify(customer.id, name="n")
    stripe.Product.create(name="p")
    assert [e.type for e in stripe.Event.list(type="customer.*")] == [
        "customer.updated",
        "customer.created",
    ]
    assert {e.type for e in stripe.Event.list(types=["product.created", "customer.created"])} == {
        "product.created",
        "customer.created",
    }
    assert len(stripe.Event.list(created={"gte": start}).data) == 3
    assert stripe.Event.list(created={"gt": start + 3600}).data == []
    first = stripe.Event.list(limit=1).data[0]
    assert stripe.Event.retrieve(first.id).type == "product.created"


def test_sign_matches_the_sdk_verifier() -> None:
    payload = json.dumps({"id": "evt_1", "object": "event", "type": "ping", "data": {}})
    header = sign(payload, "whsec_test")
    assert stripe.WebhookSignature.verify_header(payload, header, "whsec_test", tolerance=300)


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "stripe.json"
    first = EmulatorServer(state_file=str(state)).start()
    client = stripe.StripeClient(
        "sk_test_persist", base_addresses={"api": first.url}, max_network_retries=0
    )
    customer = client.v1.customers.create({"email": "keep@example.com", "metadata": {"a": "1"}})
    client.v1.products.create({"name": "Kept"}, {"idempotency_key": "once"})
    first.stop()
    second = EmulatorServer(state_file=str(state)).start()
    try:
        client = stripe.StripeClient(
            "sk_test_persist", base_addresses={"api": second.url}, max_network_retries=0
        )
        assert client.v1.customers.retrieve(customer.id).metadata.to_dict() == {"a": "1"}
        assert (
            client.v1.events.list({"type": "customer.created"}).data[0].data.object.id
            == customer.id
        )
        again = requests.post(
            second.url + "/v1/products",
            data={"name": "Kept"},
            timeout=5,
            headers={"Authorization": "Bearer sk_test_persist", "Idempotency-Key": "once"},
        )
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert len(client.v1.products.list().data) == 1
    finally:
        second.stop()


def test_server_webhook_option_registers_an_endpoint(receiver: Receiver) -> None:
    server = EmulatorServer(
        webhook_url=receiver.url, webhook_secret="whsec_cli", webhook_backoff=0.05
    ).start()
    try:
        client = stripe.StripeClient(
            "sk_test_cli", base_addresses={"api": server.url}, max_network_retries=0
        )
        assert [e.url for e in client.v1.webhook_endpoints.list()] == [receiver.url]
        client.v1.customers.create({"email": "w@example.com"})
        receiver.wait_for(lambda r: len(r.deliveries) == 1)
        signature, body = receiver.deliveries[0]
        assert stripe.Webhook.construct_event(body.decode(), signature, "whsec_cli")
        server.reset()  # the startup endpoint is kept across resets
        assert len(client.v1.webhook_endpoints.list().data) == 1
    finally:
        server.stop()


def test_cli_serves_until_interrupted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started = threading.Event()

    def fake_serve(self: EmulatorServer) -> None:
        started.set()
        raise KeyboardInterrupt

    monkeypatch.setattr(EmulatorServer, "serve_forever", fake_serve)
    assert (
        cli.main(
            ["--port", "0", "--webhook-url", "http://127.0.0.1:9/h", "--webhook-secret", "whsec_x"]
        )
        == 0
    )
    assert started.is_set()
    assert "http://127.0.0.1:" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["--webhook-url", "http://127.0.0.1:9/h"])
