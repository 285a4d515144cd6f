"""OWASP API10:2023 Unsafe Consumption of APIs: trusting what a third-party API sends or
answers more than what users send (unvalidated shapes, ids taken at their word, errors
passed through).

What this product consumes: Stripe, two ways. Stripe's webhooks arrive on the public host,
are verified against STRIPE_WEBHOOK_SECRETS, stored once and processed by handlers that
re-read the object from Stripe by id; and billing.gateway calls Stripe's API (customers,
Checkout and portal sessions, subscriptions, invoices) and turns its answers into plain
dataclasses. Probed here, with validly signed events and with the emulator's answers altered
at the HTTP seam (the SDK's RequestsClient), on two organizations:

- an event of a type the product does not handle is recorded and ignored; one of every
  handled type (billing.webhooks.handlers.HANDLERS) with a malformed object (no id, ids of
  the wrong type, ids Stripe does not know, a customer that is not a string) changes no
  organization's billing state or invoices, is recorded with its outcome, and never raises;
- an event naming another customer's objects (a stranger's customer, acme's subscription or
  invoice under beta's customer, a stranger's subscription under beta's customer) leaves
  both organizations untouched;
- an answer of Stripe's API with an unexpected shape (a missing id or url, a wrong type, a
  list that is not one, a non-JSON body, a 500) is refused by the gateway: 502
  payment_provider_error in the one error format, nothing of it stored, nothing internal in
  the answer; a malformed answer during webhook processing fails the event, recorded.
"""

import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import stripe
from django.conf import settings

from accounts.models import Role
from billing import gateway
from billing.ledger.models import Invoice
from billing.models import BillingAccount, EventState, Price, WebhookEvent
from billing.services.invoices import invoice_apply
from billing.services.subscriptions import billing_customer_ready, subscription_apply
from billing.webhooks.handlers import HANDLERS
from billing.webhooks.services import webhook_event_process
from tests.support.billing import stripe_sdk, subscribe_paid
from tests.support.http import assert_error
from tests.support.owasp import World, caller_client
from tests.support.webhooks import fixture_event, fixture_object

pytestmark = pytest.mark.django_db


def _state(world: World) -> dict[str, Any]:
    """Both organizations' billing mirror: accounts, invoices, statuses."""
    tenants = [world.acme.tenant, world.beta.tenant]
    accounts = list(
        BillingAccount.objects.filter(tenant__in=tenants)
        .order_by("tenant_id")
        .values(
            "tenant_id",
            "stripe_customer_id",
            "plan_id",
            "price_id",
            "stripe_subscription_id",
            "status",
            "quantity",
            "current_period_end",
            "cancel_at_period_end",
            "scheduled_price_id",
        )
    )
    invoices = {}
    for tenant in tenants:
        with tenant:
            invoices[tenant.slug] = sorted(
                Invoice.objects.values_list("stripe_invoice_id", "status", "total", "amount_paid")
            )
    statuses = sorted(
        (t.slug, t.status) for t in type(tenants[0]).objects.filter(pk__in=[t.pk for t in tenants])
    )
    return {"accounts": accounts, "invoices": invoices, "tenants": statuses}


def _deliver(post_event: Callable[..., Any], event: dict[str, Any]) -> WebhookEvent | None:
    """Post a signed event and process it as the worker would; None if refused at the door."""
    response = post_event(event)
    if response.status_code == 400:
        assert_error(response, 400, "malformed_event")
        assert not WebhookEvent.objects.filter(stripe_event_id=event["id"]).exists()
        return None
    assert response.status_code == 200, response.content
    row = WebhookEvent.objects.get(stripe_event_id=event["id"])
    webhook_event_process(event_pk=row.pk)  # never raises: failures are recorded
    row.refresh_from_db()
    return row


def _recorded(row: WebhookEvent) -> None:
    assert row.state in (EventState.DONE, EventState.IGNORED, EventState.FAILED), row.state
    if row.state == EventState.FAILED:
        assert row.last_error
    else:
        assert row.note


@pytest.fixture
def customers(world: World, stripe_emulator: Any) -> tuple[str, str]:
    """acme's and beta's Stripe customers (made in the emulator, mirrored here)."""
    acme = billing_customer_ready(tenant_id=world.acme.tenant.pk).stripe_customer_id
    beta = billing_customer_ready(tenant_id=world.beta.tenant.pk).stripe_customer_id
    assert acme
    assert beta
    return acme, beta


# ---- webhooks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "type_", ["customer.tax_id.created", "radar.early_fraud_warning.created", "made.up"]
)
def test_unhandled_event_types_are_recorded_and_ignored(
    world: World, customers: tuple[str, str], post_event: Any, type_: str
) -> None:
    before = _state(world)
    obj = {"id": "x_1", "object": "thing", "customer": customers[0]}
    row = _deliver(post_event, fixture_event(type_, obj))
    assert row is not None
    assert (row.state, row.note) == (EventState.IGNORED, "event type not handled")
    assert _state(world) == before


def _malformed(customer: str) -> dict[str, dict[str, Any]]:
    return {
        "no id": {"object": "x", "customer": customer},
        "id not a string": {"id": 12345, "customer": customer, "charge": 7, "subscription": 8},
        "ids Stripe does not know": {
            "id": "xx_not_at_stripe",
            "customer": customer,
            "charge": "ch_not_at_stripe",
            "subscription": "sub_not_at_stripe",
            "mode": "subscription",
        },
        "customer not a string": {"id": {"id": []}, "customer": [customer], "charge": {"id": 1}},
    }


@pytest.mark.parametrize("type_", sorted(HANDLERS))
def test_malformed_objects_change_nothing_and_are_recorded(
    world: World, customers: tuple[str, str], post_event: Any, type_: str
) -> None:
    before = _state(world)
    outcomes = {}
    for name, obj in _malformed(customers[0]).items():
        row = _deliver(post_event, fixture_event(type_, obj))
        if row is not None:
            _recorded(row)
        outcomes[name] = row.state if row else "refused"
        assert _state(world) == before, name
    assert set(outcomes.values()) - {"refused"}  # some were stored, and recorded


def test_a_body_that_is_not_an_event_is_refused_and_not_stored(
    world: World, post_event: Any
) -> None:
    for body in ('"just a string"', "[1, 2]", '{"id": "evt_1", "type": "invoice.paid"}', "{"):
        response = post_event(body)
        assert_error(response, 400)
    assert not WebhookEvent.objects.filter(stripe_event_id="evt_1").exists()


@pytest.fixture
def paying(world: World, catalog: None, customers: tuple[str, str]) -> dict[str, Any]:
    """acme subscribed and invoiced at (the emulated) Stripe; a stranger's subscription to
    our catalog, at Stripe under a customer that is no organization's."""
    account = subscribe_paid(world.acme.tenant)
    sdk = stripe_sdk()
    stranger = sdk.v1.customers.create({"email": "stranger@elsewhere.test"})
    card = sdk.v1.payment_methods.attach("pm_card_visa", {"customer": stranger.id})
    sdk.v1.customers.update(stranger.id, {"invoice_settings": {"default_payment_method": card.id}})
    pro = Price.objects.get(lookup_key="pro-monthly").stripe_price_id
    theirs = sdk.v1.subscriptions.create(
        {"customer": stranger.id, "items": [{"price": pro, "quantity": 1}]}
    )
    invoice = sdk.v1.invoices.list({"customer": str(account.stripe_customer_id)}).data[0]
    return {
        "acme_subscription": account.stripe_subscription_id,
        "acme_invoice": invoice.id,
        "stranger": stranger.id,
        "stranger_subscription": theirs.id,
        "beta_customer": customers[1],
    }


CROSSED: list[Any] = [
    pytest.param(
        "customer.subscription.updated",
        "subscription",
        "acme_subscription",
        id="acme's subscription under beta's customer",
    ),
    pytest.param(
        "invoice.paid", "invoice", "acme_invoice", id="acme's paid invoice under beta's customer"
    ),
    pytest.param(
        "invoice.finalized",
        "invoice",
        "acme_invoice",
        id="acme's finalized invoice under beta's customer",
    ),
    pytest.param(
        "customer.subscription.updated",
        "subscription",
        "stranger_subscription",
        id="a stranger's subscription under beta's customer",
    ),
]


@pytest.mark.parametrize(("type_", "kind", "which"), CROSSED)
def test_another_customers_objects_leave_both_organizations_untouched(
    world: World, paying: dict[str, Any], post_event: Any, type_: str, kind: str, which: str
) -> None:
    before = _state(world)
    obj = fixture_object(kind, id=paying[which], customer=paying["beta_customer"])
    row = _deliver(post_event, fixture_event(type_, obj))
    assert row is not None
    _recorded(row)
    assert _state(world) == before


def test_the_mirror_never_takes_another_customers_objects(
    world: World, paying: dict[str, Any]
) -> None:
    """Whichever path hands them over (a webhook, checkout completion, the nightly sync), the
    services that write the mirror refuse a subscription or invoice Stripe bills to another
    customer than the account's."""
    before = _state(world)
    beta = BillingAccount.objects.get(tenant=world.beta.tenant)
    now = int(time.time())
    for which in ("stranger_subscription", "acme_subscription"):
        theirs = gateway.subscription_retrieve(paying[which])
        assert not subscription_apply(account=beta, subscription=theirs, stripe_time=now)
    acmes = gateway.invoice_retrieve(paying["acme_invoice"])
    assert not invoice_apply(account=beta, invoice=acmes, stripe_time=now)
    assert _state(world) == before


def test_a_customer_that_is_no_organizations_is_ignored(
    world: World, paying: dict[str, Any], post_event: Any
) -> None:
    before = _state(world)
    for type_, kind in (
        ("customer.subscription.updated", "subscription"),
        ("invoice.paid", "invoice"),
    ):
        obj = fixture_object(kind, id=paying["stranger_subscription"], customer=paying["stranger"])
        row = _deliver(post_event, fixture_event(type_, obj))
        assert row is not None
        assert row.state == EventState.IGNORED
        assert row.note == f"unknown customer {paying['stranger']}"
    assert _state(world) == before


# ---- Stripe's API answers -----------------------------------------------------------------------

Change = Callable[[bytes, int], tuple[bytes, int]]


def _altered(monkeypatch: pytest.MonkeyPatch, method: str, pattern: str, change: Change) -> None:
    """Stripe's answers to `method` on URLs matching `pattern` pass through `change`."""
    original = stripe.RequestsClient.request

    def request(self: Any, verb: str, url: str, headers: Any, post_data: Any = None) -> Any:
        content, status, answer_headers = original(self, verb, url, headers, post_data)
        if verb.upper() == method and re.search(pattern, url):
            content, status = change(content, status)
        return content, status, answer_headers

    monkeypatch.setattr(stripe.RequestsClient, "request", request)


def _without(key: str) -> Change:
    def change(content: bytes, status: int) -> tuple[bytes, int]:
        body = json.loads(content)
        body.pop(key, None)
        return json.dumps(body).encode(), status

    return change


def _with(key: str, value: Any) -> Change:
    def change(content: bytes, status: int) -> tuple[bytes, int]:
        return json.dumps({**json.loads(content), key: value}).encode(), status

    return change


CHECKOUT, PORTAL = "checkout", "portal"
ANSWERS: list[Any] = [
    pytest.param(
        CHECKOUT,
        "POST",
        r"/v1/checkout/sessions$",
        lambda c, s: (b"<html>busy</html>", 200),
        id="session: not JSON",
    ),
    pytest.param(
        CHECKOUT,
        "POST",
        r"/v1/checkout/sessions$",
        lambda c, s: (b'{"error": {}}', 500),
        id="session: a 500",
    ),
    pytest.param(
        PORTAL,
        "POST",
        r"/v1/billing_portal/sessions$",
        lambda c, s: (b"", 200),
        id="portal: empty body",
    ),
    pytest.param(
        CHECKOUT,
        "POST",
        r"/v1/customers$",
        _without("id"),
        id="customer: no id",
    ),
    pytest.param(
        CHECKOUT,
        "POST",
        r"/v1/customers$",
        _with("id", 12345),
        id="customer: id not a string",
    ),
    pytest.param(
        CHECKOUT,
        "GET",
        r"/v1/subscriptions",
        _with("data", "not a list"),
        id="subscriptions: data not a list",
    ),
    pytest.param(
        CHECKOUT,
        "POST",
        r"/v1/checkout/sessions$",
        _without("url"),
        id="session: no url",
    ),
    pytest.param(
        CHECKOUT,
        "POST",
        r"/v1/checkout/sessions$",
        _with("url", "javascript:alert(1)"),
        id="session: a javascript url",
    ),
    pytest.param(
        PORTAL,
        "POST",
        r"/v1/billing_portal/sessions$",
        _with("url", None),
        id="portal: url null",
    ),
    pytest.param(
        PORTAL,
        "POST",
        r"/v1/billing_portal/sessions$",
        lambda c, s: (b"[]", 200),
        id="portal: a list",
    ),
]
INTERNALS = ("Traceback", "KeyError", "AttributeError", "TypeError", "sk_test", "stripe.", "/v1/")


@pytest.mark.parametrize(("operation", "method", "pattern", "change"), ANSWERS)
def test_unexpected_answers_from_stripe_are_refused(
    world: World,
    catalog: None,
    monkeypatch: pytest.MonkeyPatch,
    operation: str,
    method: str,
    pattern: str,
    change: Change,
) -> None:
    _altered(monkeypatch, method, pattern, change)
    owner = caller_client(world, Role.OWNER)
    if operation == CHECKOUT:
        response = owner.post(
            "/api/v1/billing/checkout/", {"price": "starter-monthly"}, format="json"
        )
    else:
        response = owner.post("/api/v1/billing/portal/")
    text = response.content.decode()
    assert not [word for word in INTERNALS if word in text], text
    assert settings.STRIPE_API_BASE.split("//", 1)[1] not in text
    customer = BillingAccount.objects.get(tenant=world.acme.tenant).stripe_customer_id
    assert customer is None or customer.startswith("cus_"), customer
    assert_error(response, 502, "payment_provider_error")


def test_a_malformed_answer_while_processing_an_event_fails_it_and_changes_nothing(
    world: World, paying: dict[str, Any], post_event: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _state(world)
    _altered(monkeypatch, "GET", r"/v1/subscriptions/sub_", _without("items"))
    account = BillingAccount.objects.get(tenant=world.acme.tenant)
    obj = fixture_object(
        "subscription", id=paying["acme_subscription"], customer=account.stripe_customer_id
    )
    row = _deliver(post_event, fixture_event("customer.subscription.updated", obj))
    assert row is not None
    assert row.state == EventState.FAILED
    assert "items" in row.last_error
    assert _state(world) == before
