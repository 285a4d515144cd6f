"""The plan-change rules and what they refuse: each refusal a 4xx in the one error format
with nothing changed at Stripe; Stripe down is a 503 with nothing half-applied; a change to
metered billing; and the lock scope (no row lock while Stripe answers)."""

import threading
from typing import Any

import pytest
from django.db import connections

from billing import gateway
from billing.models import BillingAccount, Price
from billing.services.subscriptions import account_for_update
from tests.support.billing import stripe_sdk, subscribe_paid

pytestmark = pytest.mark.usefixtures("stripe_emulator")  # a fresh Stripe for each test


def _stripe_state(account: BillingAccount) -> tuple[Any, ...]:
    sub = stripe_sdk().v1.subscriptions.retrieve(account.stripe_subscription_id or "")
    params: Any = {"customer": account.stripe_customer_id}
    invoices = stripe_sdk().v1.invoices.list(params).data
    return sub["items"].data[0].price.id, sub.schedule, len(invoices)


def _mirrored_price(tenant: Any) -> str | None:
    price = BillingAccount.objects.get(tenant=tenant).price
    return price.lookup_key if price else None


def _refused(client, path: str, body: dict, status: int, code: str) -> None:
    response = client.post(f"/api/v1/billing/subscription/{path}/", body, format="json")
    assert response.status_code == status, response.json()
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"price": "no-such-price"}, 404, "price_not_found"),
        ({"price": "starter-monthly"}, 409, "same_price"),
        ({"price": "pro-monthly", "proration_date": 1}, 400, "invalid_proration_date"),
        ({"price": "pro-monthly", "proration_date": "soon"}, 400, "invalid"),
        ({"price": "pro-monthly", "extra": 1}, 400, "invalid"),
    ],
)
def test_bad_changes_are_refused_and_change_nothing(acme, body, status, code) -> None:
    tenant, client = acme.tenant, acme.client
    account = subscribe_paid(tenant, "starter-monthly")
    before = _stripe_state(account)
    _refused(client, "change", body, status, code)
    assert _stripe_state(account) == before
    assert _mirrored_price(tenant) == "starter-monthly"


def test_an_inactive_price_is_refused(acme) -> None:
    tenant, client = acme.tenant, acme.client
    account = subscribe_paid(tenant, "starter-monthly")
    Price.objects.filter(lookup_key="pro-monthly").update(active=False)
    before = _stripe_state(account)
    _refused(client, "change", {"price": "pro-monthly"}, 404, "price_not_found")
    _refused(client, "preview-change", {"price": "pro-monthly"}, 404, "price_not_found")
    assert _stripe_state(account) == before


def test_preview_and_change_without_a_subscription_are_refused(acme, catalog) -> None:
    client = acme.client
    for path in ("preview-change", "change"):
        _refused(client, path, {"price": "pro-monthly"}, 409, "no_subscription")


def test_stripe_down_during_a_change_is_a_503_and_nothing_changes(acme, settings) -> None:
    tenant, client = acme.tenant, acme.client
    account = subscribe_paid(tenant, "pro-monthly")
    before = _stripe_state(account)
    emulator = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    gateway.reset_client()
    try:
        for price in ("starter-monthly", "pro-yearly"):
            response = client.post(
                "/api/v1/billing/subscription/change/", {"price": price}, format="json"
            )
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "payment_provider_unavailable"
    finally:
        settings.STRIPE_API_BASE = emulator
        gateway.reset_client()
    assert _stripe_state(account) == before
    mirror = BillingAccount.objects.get(tenant=tenant)
    assert (_mirrored_price(tenant), mirror.scheduled_price) == ("pro-monthly", None)
    # Once Stripe is back the same change goes through.
    retried = client.post(
        "/api/v1/billing/subscription/change/", {"price": "starter-monthly"}, format="json"
    )
    assert retried.status_code == 200, retried.json()


def test_a_paid_tenant_can_move_to_metered_billing_now(acme) -> None:
    tenant, client = acme.tenant, acme.client
    account = subscribe_paid(tenant, "starter-monthly")

    preview = client.post(
        "/api/v1/billing/subscription/preview-change/", {"price": "scale-usage"}, format="json"
    )
    changed = client.post(
        "/api/v1/billing/subscription/change/",
        {"price": "scale-usage", "proration_date": preview.json()["proration_date"]},
        format="json",
    )

    assert changed.status_code == 200, changed.json()
    body = changed.json()
    assert (body["effective"], body["subscription"]["plan"]) == ("now", "scale")
    assert preview.json()["amount_due_now"] == body["amount_due_now"] == 0  # a credit
    sub = stripe_sdk().v1.subscriptions.retrieve(account.stripe_subscription_id or "")
    items = sub["items"].data
    assert [(i.price.lookup_key, i.quantity) for i in items] == [("scale-usage", None)]
    latest = stripe_sdk().v1.invoices.retrieve(str(sub.latest_invoice))
    assert latest.total < 0  # the unused starter time, credited to the customer's balance
    back = client.post(
        "/api/v1/billing/subscription/change/", {"price": "starter-monthly"}, format="json"
    )
    assert (back.status_code, back.json()["effective"]) == (200, "period_end")


def test_a_locked_account_row_survives_a_concurrent_plan_change(
    acme, transactional_db, committed
) -> None:
    """The row lock used to join the plan and price: when another transaction changed the
    account's plan meanwhile, PostgreSQL re-checked the join against the old plan row and
    dropped the row (DoesNotExist: a 404 and webhook events failing their first attempt)."""
    tenant = acme.tenant
    account = BillingAccount.objects.get(tenant=tenant)
    pro = Price.objects.select_related("plan").get(lookup_key="pro-monthly")
    starter = Price.objects.select_related("plan").get(lookup_key="starter-monthly")
    BillingAccount.objects.filter(pk=account.pk).update(price=starter, plan=starter.plan)
    other = connections.create_connection("default")
    other.set_autocommit(False)
    with other.cursor() as cursor:  # a webhook mirroring an upgrade, not yet committed
        cursor.execute(
            "UPDATE billing_billingaccount SET price_id = %s, plan_id = %s WHERE id = %s",
            [pro.pk, pro.plan_id, account.pk],
        )
    found: list[Any] = []

    def lock() -> None:
        from django.db import connection, transaction

        with transaction.atomic():
            found.append(account_for_update(tenant=tenant))
        connection.close()

    waiting = threading.Thread(target=lock)
    waiting.start()
    waiting.join(timeout=1)
    assert waiting.is_alive()  # waits for the other transaction, as it should
    other.commit()
    other.close()
    waiting.join(timeout=10)
    assert [a.price_id for a in found] == [pro.pk]


def test_no_row_lock_is_held_while_stripe_answers_a_change(
    acme, transactional_db, committed, monkeypatch
) -> None:
    """A change waits on Stripe (slow, or retrying) with only the tenant's billing mutex:
    webhooks and seat syncs lock the account row meanwhile and carry on."""
    tenant, client = acme.tenant, acme.client
    subscribe_paid(tenant, "starter-monthly")
    in_stripe, release = threading.Event(), threading.Event()
    real_update = gateway.subscription_update

    def slow_update(*args: Any, **kwargs: Any) -> Any:
        in_stripe.set()
        release.wait(timeout=30)
        return real_update(*args, **kwargs)

    monkeypatch.setattr(gateway, "subscription_update", slow_update)
    answers: list[int] = []

    def change() -> None:
        from django.db import connection

        response = client.post(
            "/api/v1/billing/subscription/change/", {"price": "pro-monthly"}, format="json"
        )
        answers.append(response.status_code)
        connection.close()

    changing = threading.Thread(target=change)
    changing.start()
    try:
        assert in_stripe.wait(timeout=30)
        other = connections.create_connection("default")
        with other.cursor() as cursor:  # what a webhook does: lock the row, briefly
            cursor.execute("SET lock_timeout = '2s'")
            cursor.execute(
                "SELECT id FROM billing_billingaccount WHERE tenant_id = %s FOR UPDATE",
                [tenant.pk],
            )
            assert cursor.fetchone() is not None
        other.close()
    finally:
        release.set()
        changing.join(timeout=30)
    assert answers == [200]
