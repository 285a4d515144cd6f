"""The organization's own billing reaches its webhook endpoints (`subscription.*`,
`invoice.*`), lived over simulated months on the lifecycle stack (tests/support/scenarios.py:
gunicorn, a worker of its own, the offline Stripe's signed webhooks, a test clock per
organization). Every event got there through Stripe's webhooks or an admin's billing call
over HTTP, and was delivered by the worker to a receiver on loopback; each is verified with
the Standard Webhooks reference library and checked against the OpenAPI document."""

import json
from typing import Any

import pytest
import requests
from django.conf import settings
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

from billing.models import EventState
from billing.models import WebhookEvent as StripeEvent
from saas.webhooks_out.catalog import EVENT_TYPES
from saas.webhooks_out.models import DeliveryStatus, WebhookDelivery, WebhookEvent
from stripe_emulator.webhooks import sign
from tests.support.billing import stripe_sdk
from tests.support.processes import wait_until
from tests.support.scenarios import (
    SECRET,
    WEBHOOK_PATH,
    Admin,
    World,
    pay_on_hosted_page,
    period_of,
    stripe_invoices,
    subscribed,
)
from tests.support.webhook_receiver import Receiver, undocumented, verified

BILLING = ["subscription.*", "invoice.*"]


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator(urlconf="config.urls").get_schema(request=None, public=True)


class Endpoint:
    """An organization's endpoint for its billing events, registered over the API, and what
    its receiver got: every body verified with the secret and checked against the document."""

    def __init__(self, admin: Admin, receiver: Receiver, schema: dict) -> None:
        self.admin, self.receiver, self.schema = admin, receiver, schema
        created = admin.post("webhook-endpoints/", {"url": receiver.url(), "event_types": BILLING})
        assert created.status_code == 201, created.text
        self.secret = created.json()["secret"]
        self.seen = 0

    def recorded(self) -> list[str]:
        with self.admin.tenant:
            return list(WebhookEvent.objects.order_by("id").values_list("type", flat=True))

    def new(self, world: World) -> list[dict[str, Any]]:
        """The events recorded since the last call, once Stripe's events are processed and
        every delivery arrived: their payloads, as the receiver verified them."""
        world.settle()
        with self.admin.tenant:
            pending = WebhookDelivery.objects.exclude(status=DeliveryStatus.DELIVERED)
            wait_until(lambda: not pending.exists(), "every delivery delivered")
            total = WebhookEvent.objects.count()
        arrived = self.receiver.wait_for(total)[self.seen :]
        self.seen = total
        bodies = [verified(self.secret, request) for request in arrived]
        for body in bodies:
            assert undocumented(self.schema, body) == [], body
        return sorted(bodies, key=lambda body: body["timestamp"])


def _types(bodies: list[dict[str, Any]]) -> list[str]:
    return sorted(body["type"] for body in bodies)


def _one(bodies: list[dict[str, Any]], event_type: str) -> dict[str, Any]:
    found = [body["data"] for body in bodies if body["type"] == event_type]
    assert len(found) == 1, (event_type, _types(bodies))
    return found[0]


def _card(admin: Admin, card: str) -> None:
    """The customer's card changes (at the bank, or in the portal)."""
    client = stripe_sdk()
    pm = client.v1.payment_methods.attach(card, {"customer": admin.customer_id})
    client.v1.customers.update(
        admin.customer_id, {"invoice_settings": {"default_payment_method": pm.id}}
    )
    sub: Any = {"default_payment_method": pm.id}
    client.v1.subscriptions.update(admin.account.stripe_subscription_id or "", sub)


def _matches_stripe(data: dict[str, Any], invoice: Any) -> None:
    """The payload's money is Stripe's invoice's, to the cent, with its ids."""
    assert data["id"] == invoice.id
    assert data["id"].startswith("in_")
    assert (data["amount_due"], data["amount_paid"], data["amount_remaining"]) == (
        invoice.amount_due,
        invoice.amount_paid,
        invoice.amount_remaining,
    )
    assert (data["total"], data["currency"], data["status"]) == (
        invoice.total,
        invoice.currency,
        invoice.status,
    )
    assert data["hosted_invoice_url"] == invoice.hosted_invoice_url


def test_a_subscriptions_life_reaches_the_endpoint_to_the_cent(
    stripe_world: World, hook_receiver: Receiver, schema: dict
) -> None:
    admin = subscribed(stripe_world, "hookbill", "starter-monthly")
    endpoint = Endpoint(admin, hook_receiver, schema)
    first_sub = admin.account.stripe_subscription_id or ""
    _, end = period_of(admin)

    # The renewal's payment fails: issued, failed, and the subscription past due.
    _card(admin, "pm_card_chargeCustomerFail")
    admin.advance(to=end + 3600)
    got = endpoint.new(stripe_world)
    assert {"invoice.finalized", "invoice.payment_failed", "subscription.updated"} == set(
        _types(got)
    )
    renewal = next(i for i in stripe_invoices(admin) if i.status == "open")
    failed = _one(got, "invoice.payment_failed")
    _matches_stripe(failed, renewal)
    assert (failed["amount_due"], failed["amount_paid"], failed["currency"]) == (900, 0, "usd")
    assert (failed["subscription"], failed["attempt_count"]) == (first_sub, 1)
    assert failed["next_payment_attempt"] is not None  # Stripe retries
    updated = [body["data"] for body in got if body["type"] == "subscription.updated"]
    assert updated[-1]["status"] == "past_due"
    changed = {name for data in updated for name in data["previous_attributes"]}
    assert {"current_period_start", "current_period_end", "status"} <= changed

    # Paid on the hosted invoice page: the renewal's invoice.paid, and active again.
    _card(admin, "pm_card_visa")
    stripe_sdk().v1.invoices.pay(renewal.id)
    got = endpoint.new(stripe_world)
    assert _types(got) == ["invoice.paid", "subscription.updated"]
    paid = _one(got, "invoice.paid")
    _matches_stripe(paid, stripe_sdk().v1.invoices.retrieve(renewal.id))
    assert (paid["amount_paid"], paid["amount_remaining"]) == (900, 0)
    again = _one(got, "subscription.updated")
    assert (again["status"], again["previous_attributes"]) == ("active", {"status": "past_due"})

    # Canceled at the period end (over the API), then ended: the organization is on free.
    assert admin.post("billing/subscription/cancel/").status_code == 200
    got = endpoint.new(stripe_world)
    assert _types(got) == ["subscription.updated"]
    assert got[0]["data"]["cancel_at_period_end"] is True
    assert got[0]["data"]["previous_attributes"] == {"cancel_at_period_end": False}
    _, end = period_of(admin)
    admin.advance(to=end + 3600)
    got = endpoint.new(stripe_world)
    assert _types(got) == ["subscription.canceled"]
    ended = got[0]["data"]
    assert (ended["id"], ended["plan"], ended["price"], ended["status"]) == (
        first_sub,
        "starter",
        "starter-monthly",
        "canceled",
    )
    assert admin.subscription()["plan"] == "free"

    # Subscribing again: the endpoint, kept on the free plan, hears of it and its invoice.
    assert pay_on_hosted_page(admin.checkout("starter-monthly")).status_code == 303
    got = endpoint.new(stripe_world)
    assert _types(got) == ["invoice.finalized", "invoice.paid", "subscription.created"]
    created = _one(got, "subscription.created")
    second_sub = admin.account.stripe_subscription_id
    assert (created["id"], created["plan"], created["status"]) == (second_sub, "starter", "active")
    assert (created["unit_amount"], created["currency"], created["seats"]) == (900, "usd", 1)
    first_invoice = stripe_invoices(admin)[0]
    assert first_invoice.amount_paid == 900
    _matches_stripe(_one(got, "invoice.paid"), first_invoice)
    assert _one(got, "invoice.paid")["subscription"] == second_sub

    billing = {name for name in EVENT_TYPES if name.split(".")[0] in {"subscription", "invoice"}}
    assert set(endpoint.recorded()) == billing  # every billing type, each documented


def test_a_stripe_event_received_again_or_replayed_sends_nothing_more(
    stripe_world: World, hook_receiver: Receiver, schema: dict
) -> None:
    admin = subscribed(stripe_world, "hookagain", "starter-monthly")
    endpoint = Endpoint(admin, hook_receiver, schema)
    assert admin.post("billing/subscription/cancel/").status_code == 200
    got = endpoint.new(stripe_world)  # Stripe's own event of the cancel changed nothing more
    assert _types(got) == ["subscription.updated"]

    stored = StripeEvent.objects.filter(account__tenant=admin.tenant).order_by("stripe_created")
    update = stored.filter(type="customer.subscription.updated").last()
    assert update is not None
    body = json.dumps(update.payload)
    again = requests.post(
        stripe_world.stack.url + WEBHOOK_PATH,
        data=body,
        headers={
            "Host": settings.BASE_DOMAIN,
            "Content-Type": "application/json",
            "Stripe-Signature": sign(body, SECRET),
        },
        timeout=30,
    )
    assert again.status_code == 200, again.text
    # Every Stripe event of the organization run again (older ones included), as the operator
    # replays them: each refetches what the mirror holds already.
    ids = list(stored.values_list("stripe_event_id", flat=True))
    call_command("billing_replay_events", include_finished=True, id=ids, stdout=_Null())
    assert set(stored.values_list("state", flat=True)) <= {EventState.DONE, EventState.IGNORED}
    assert min(stored.values_list("attempts", flat=True)) >= 2  # each ran again

    assert endpoint.recorded() == ["subscription.updated"]
    assert len(hook_receiver.received) == 1


def test_another_organizations_endpoint_gets_none_of_its_billing(
    stripe_world: World, hook_receiver: Receiver, schema: dict
) -> None:
    first = subscribed(stripe_world, "hookfirst", "starter-monthly")
    second = subscribed(stripe_world, "hooksecond", "pro-monthly")
    endpoint = Endpoint(first, hook_receiver, schema)
    other = Endpoint(second, Receiver().start(), schema)
    try:
        _, end = period_of(first)
        first.advance(to=end + 3600)  # the first organization's clock only: its renewal
        got = endpoint.new(stripe_world)
        assert {"invoice.paid", "subscription.updated"} <= set(_types(got))
        assert {body["data"]["id"] for body in got} <= {
            first.account.stripe_subscription_id,
            *(invoice.id for invoice in stripe_invoices(first)),
        }
        assert other.recorded() == []
        assert other.receiver.received == []
    finally:
        other.receiver.stop()


class _Null:
    def write(self, _: str) -> None:
        pass
