"""Each handled event type has its effect, once, whatever the order. Events are the
emulator's own (the flows really happen on it) or built from Stripe's fixtures where the
emulator makes none; they go through the real endpoint and are processed here, as the
worker does (tests/billing/webhooks/test_worker.py runs the real worker)."""

import time
from typing import Any

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string

from accounts.models import Role
from billing import gateway
from billing.ledger.models import Invoice
from billing.models import BillingAccount, EventState, Price, WebhookEvent, WebhookNotification
from billing.services.subscriptions import billing_customer_ready, checkout_start
from billing.webhooks import handlers, notifications
from billing.webhooks.services import retry_delay, webhook_event_process
from tenants.models import Tenant
from tests.factories import Org
from tests.support.billing import clock_advance, complete_checkout, stripe_sdk, subscribe_paid
from tests.support.webhooks import emulator_event, emulator_events, fixture_event, fixture_object

DAY = 86400


@pytest.fixture
def team(acme: Org) -> Tenant:
    """acme with a billing manager and a plain member beside its owner: three seats, and the
    two people billing emails go to."""
    acme.join(Role.BILLING)
    acme.join(Role.MEMBER)
    return acme.tenant


@pytest.fixture
def emails(monkeypatch) -> list[dict[str, Any]]:
    """Emails queued by notifications (sent on commit; here, recorded)."""
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(notifications, "email_send_later", lambda **kw: sent.append(kw))
    return sent


def _account(tenant: Tenant) -> BillingAccount:
    return BillingAccount.objects.select_related("plan", "tenant").get(tenant=tenant)


def _billing_people(tenant: Tenant) -> set[str]:
    return set(
        tenant.memberships.filter(role__in=[Role.OWNER, Role.BILLING]).values_list(
            "user__email", flat=True
        )
    )


def _rendered(email: dict[str, Any]) -> str:
    return "".join(
        render_to_string(f"emails/{email['template']}.{part}", email["context"])
        for part in ("subject.txt", "txt", "html")
    )


# ---- checkout and subscriptions -------------------------------------------------------------


def test_checkout_completed_mirrors_the_new_subscription(db, catalog, team, deliver) -> None:
    billing_customer_ready(tenant_id=team.pk)
    session = checkout_start(tenant=team, price_lookup_key="pro-monthly", host="acme.localhost")
    complete_checkout(session.url)
    row = deliver(emulator_event("checkout.session.completed"))
    account = _account(team)
    assert (row.state, row.account) == (EventState.DONE, account)
    assert account.plan.code == "pro"
    assert account.status == "trialing"  # pro has a trial, and this is the first subscription
    team.refresh_from_db()
    assert team.status == "trialing"


def test_subscription_updated_and_deleted_follow_stripe(db, catalog, team, deliver, emails) -> None:
    account = subscribe_paid(team)
    sdk = stripe_sdk()
    sdk.v1.subscriptions.update(
        account.stripe_subscription_id or "", {"cancel_at_period_end": True}
    )
    deliver(emulator_event("customer.subscription.updated"))
    assert _account(team).cancel_at_period_end is True

    sdk.v1.subscriptions.cancel(account.stripe_subscription_id or "")
    row = deliver(emulator_event("customer.subscription.deleted"))
    account = _account(team)
    assert (account.status, account.plan.code) == ("canceled", "free")
    team.refresh_from_db()
    assert team.status == "active"  # on the free plan, within its limits
    assert {e["to"] for e in emails} == _billing_people(team)
    assert {e["template"] for e in emails} == {"billing_subscription_canceled"}
    assert "has ended" in _rendered(emails[0])
    assert row.notifications.get().kind == "subscription_canceled"


def test_deleted_before_updated_ends_canceled(db, catalog, team, deliver) -> None:
    account = subscribe_paid(team)
    sdk = stripe_sdk()
    sdk.v1.subscriptions.update(
        account.stripe_subscription_id or "", {"cancel_at_period_end": True}
    )
    sdk.v1.subscriptions.cancel(account.stripe_subscription_id or "")
    deliver(emulator_event("customer.subscription.deleted"))
    late = deliver(emulator_event("customer.subscription.updated"))
    assert late.state == EventState.DONE
    assert _account(team).status == "canceled"


def test_an_updated_event_older_than_the_stored_state_changes_nothing(
    db, catalog, team, deliver
) -> None:
    account = subscribe_paid(team)
    sdk = stripe_sdk()
    for quantity in (2, 3):
        sdk.v1.subscriptions.update(
            account.stripe_subscription_id or "",
            {"items": [{"id": account.stripe_subscription_item_id, "quantity": quantity}]},
        )
    by_quantity = {
        e["data"]["object"]["items"]["data"][0]["quantity"]: e
        for e in emulator_events("customer.subscription.updated")
    }
    older, newer = by_quantity[2], by_quantity[3]
    deliver(newer)
    deliver(older)
    assert _account(team).quantity == 3


def test_trial_will_end_emails_the_owner_and_billing_members(
    db, catalog, team, deliver, emails
) -> None:
    account = billing_customer_ready(tenant_id=team.pk)
    gateway.subscription_create_trial(
        customer_id=account.stripe_customer_id or "",
        price_id=Price.objects.get(lookup_key="starter-monthly").stripe_price_id,
        quantity=1,
        trial_days=2,
        metadata={},
        idempotency_key="trial-ending-test",
    )
    row = deliver(emulator_event("customer.subscription.trial_will_end"))
    assert row.state == EventState.DONE
    assert _account(team).status == "trialing"
    assert {e["to"] for e in emails} == _billing_people(team)
    email = emails[0]
    assert email["template"] == "billing_trial_ending"
    assert email["context"]["trial_end"] in _rendered(email)


def test_paused_then_resumed(db, catalog, team, deliver) -> None:
    now = int(time.time())
    account = subscribe_paid(team, clock_at=now)  # a customer on a test clock
    sdk = stripe_sdk()
    sdk.v1.subscriptions.cancel(account.stripe_subscription_id or "")
    price = Price.objects.get(lookup_key="starter-monthly").stripe_price_id
    customer_id = account.stripe_customer_id or ""
    sdk.v1.customers.update(customer_id, {"invoice_settings": {"default_payment_method": ""}})
    for pm in sdk.v1.customers.payment_methods.list(customer_id).data:
        sdk.v1.payment_methods.detach(pm.id)
    subscription = sdk.v1.subscriptions.create(
        {
            "customer": customer_id,
            "items": [{"price": price, "quantity": 1}],
            "trial_period_days": 1,
            "trial_settings": {"end_behavior": {"missing_payment_method": "pause"}},
        }
    )
    clock_advance(customer_id, now + 2 * DAY)
    row = deliver(emulator_event("customer.subscription.paused"))
    account = _account(team)
    assert (row.state, account.stripe_subscription_id) == (EventState.DONE, subscription.id)
    assert account.status == "paused"
    team.refresh_from_db()
    assert team.status == "read_only"

    card = sdk.v1.payment_methods.attach("pm_card_visa", {"customer": customer_id})
    sdk.v1.customers.update(customer_id, {"invoice_settings": {"default_payment_method": card.id}})
    resume: Any = {"billing_cycle_anchor": {"type": "now"}}  # a hash in this API version
    sdk.v1.subscriptions.resume(subscription.id, resume)
    deliver(emulator_event("customer.subscription.resumed"))
    assert _account(team).status == "active"
    team.refresh_from_db()
    assert team.status == "active"


# ---- invoices -----------------------------------------------------------------------------


def test_invoice_events_mirror_into_the_tenant_schema_and_paid_sends_one_receipt(
    db, catalog, team, deliver, emails
) -> None:
    subscribe_paid(team)
    for type_ in ("invoice.created", "invoice.finalized", "invoice.paid"):
        assert deliver(emulator_event(type_)).state == EventState.DONE
    paid = emulator_event("invoice.paid")
    with team:
        invoice = Invoice.objects.get(stripe_invoice_id=paid["data"]["object"]["id"])
    assert (invoice.status, invoice.amount_paid) == ("paid", 3 * 900)  # three seats
    assert {e["to"] for e in emails} == _billing_people(team)
    assert emails[0]["template"] == "billing_receipt"
    assert "27.00 USD" in _rendered(emails[0])

    # The same event again, processed again, replayed by force: still one receipt.
    row = deliver(paid)
    webhook_event_process(event_pk=row.pk)
    call_command("billing_replay_events", "--id", paid["id"], "--include-finished")
    assert WebhookNotification.objects.filter(event=row).count() == 1
    assert len(emails) == 2  # owner and billing member, once each


def test_payment_failed_emails_the_invoice_link_and_retry_date(
    db, catalog, team, deliver, emails
) -> None:
    now = int(time.time())
    account = subscribe_paid(team, clock_at=now)
    sdk = stripe_sdk()
    customer_id = account.stripe_customer_id or ""
    failing = sdk.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer_id})
    sdk.v1.customers.update(
        customer_id, {"invoice_settings": {"default_payment_method": failing.id}}
    )
    clock_advance(customer_id, now + 32 * DAY)  # the renewal fails
    row = deliver(emulator_event("invoice.payment_failed"))
    assert row.state == EventState.DONE
    account = _account(team)
    assert account.status == "past_due"
    team.refresh_from_db()
    assert team.status == "past_due"
    email = emails[0]
    assert email["template"] == "billing_payment_failed"
    assert email["context"]["next_payment_attempt"]
    assert email["context"]["hosted_invoice_url"].startswith("http")
    text = _rendered(email)
    assert email["context"]["hosted_invoice_url"] in text
    assert f"try again on {email['context']['next_payment_attempt']}" in text


def test_payment_action_required_emails_the_confirmation_link(
    db, catalog, team, deliver, emails
) -> None:
    subscribe_paid(team, card="pm_card_authenticationRequired")
    row = deliver(emulator_event("invoice.payment_action_required"))
    assert row.state == EventState.DONE
    email = emails[0]
    assert email["template"] == "billing_payment_action_required"
    assert email["context"]["hosted_invoice_url"] in _rendered(email)


def test_upcoming_invoice_is_noted_against_the_account(db, catalog, team, deliver) -> None:
    account = subscribe_paid(team)
    upcoming = fixture_object("invoice", customer=account.stripe_customer_id, amount_due=900)
    row = deliver(fixture_event("invoice.upcoming", upcoming))
    assert (row.state, row.account_id) == (EventState.DONE, account.pk)
    assert "upcoming invoice of 900" in row.note


# ---- customers, payment methods, charges ----------------------------------------------------


def test_customer_updated_and_payment_method_attached_refresh_the_mirror(
    db, catalog, team, deliver
) -> None:
    account = subscribe_paid(team)
    stripe_sdk().v1.customers.update(account.stripe_customer_id or "", {"name": "Acme Inc"})
    for type_ in ("customer.updated", "payment_method.attached"):
        row = deliver(emulator_event(type_))
        assert (row.state, row.account_id) == (EventState.DONE, account.pk)
        assert "subscription active" in row.note


def test_charge_refunded_re_mirrors_the_invoices(db, catalog, team, deliver) -> None:
    account = subscribe_paid(team)
    charge = fixture_object(
        "charge", customer=account.stripe_customer_id, refunded=True, amount_refunded=900
    )
    row = deliver(fixture_event("charge.refunded", charge))
    assert (row.state, row.account_id) == (EventState.DONE, account.pk)
    with team:
        assert Invoice.objects.filter(status="paid").count() == 1


def test_a_dispute_is_tied_to_its_customer_through_the_charge(db, catalog, team, deliver) -> None:
    account = subscribe_paid(team)
    charge = emulator_event("charge.succeeded")["data"]["object"]  # the first invoice's
    # A dispute names only its charge; the handler asks Stripe whose charge it is.
    dispute = fixture_object("dispute", charge=charge["id"])
    row = deliver(fixture_event("charge.dispute.created", dispute))
    assert (row.state, row.account_id) == (EventState.DONE, account.pk)
    assert dispute["id"] in row.note


def test_a_dispute_on_an_unknown_charge_is_recorded_and_ignored(db, catalog, deliver) -> None:
    row = deliver(fixture_event("charge.dispute.created", fixture_object("dispute")))
    assert row.state == EventState.IGNORED


@pytest.mark.parametrize(
    ("type_", "resource"),
    [
        ("customer.subscription.updated", "subscription"),
        ("invoice.paid", "invoice"),
        ("checkout.session.completed", "checkout.session"),
        ("charge.refunded", "charge"),
    ],
)
def test_an_event_for_an_unknown_customer_is_recorded_and_ignored(
    db, catalog, deliver, type_, resource
) -> None:
    obj = fixture_object(resource, customer="cus_nobody_knows")
    if resource == "checkout.session":
        obj["mode"] = "subscription"
    row = deliver(fixture_event(type_, obj))
    assert row.state == EventState.IGNORED
    assert row.note == "unknown customer cus_nobody_knows"


# ---- failures, retries, replay --------------------------------------------------------------


def test_a_failing_handler_leaves_the_event_failed_and_replay_succeeds_after_the_fix(
    db, catalog, team, deliver, emails, monkeypatch
) -> None:
    subscribe_paid(team)
    real = handlers.HANDLERS["invoice.paid"]

    def broken(event: WebhookEvent) -> handlers.Outcome:
        real(event)  # its writes and emails must roll back with the failure
        raise RuntimeError("handler bug")

    monkeypatch.setitem(handlers.HANDLERS, "invoice.paid", broken)
    row = deliver(emulator_event("invoice.paid"))
    assert (row.state, row.attempts) == (EventState.FAILED, 1)
    assert row.last_error == "RuntimeError: handler bug"
    assert row.next_attempt_at is not None
    assert not row.notifications.exists()
    with team:
        assert not Invoice.objects.exists()

    monkeypatch.setitem(handlers.HANDLERS, "invoice.paid", real)
    call_command("billing_replay_events", "--type", "invoice.paid")
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == (EventState.DONE, 2, "")
    assert row.notifications.get().kind == "receipt"
    with team:
        assert Invoice.objects.get().status == "paid"


def test_retries_back_off_exponentially_with_jitter_up_to_a_cap(settings) -> None:
    settings.STRIPE_WEBHOOK_RETRY_BASE_SECONDS = 60
    settings.STRIPE_WEBHOOK_RETRY_MAX_SECONDS = 3600
    for attempts, step in [(1, 60), (2, 120), (3, 240), (7, 3600), (12, 3600)]:
        delays = {retry_delay(attempts) for _ in range(20)}
        assert all(step / 2 <= d <= step for d in delays)
        assert len(delays) > 1  # jittered


def test_replay_selects_by_type_and_time_range(db, catalog, team, deliver, monkeypatch) -> None:
    subscribe_paid(team)
    monkeypatch.setitem(handlers.HANDLERS, "invoice.created", _raise)
    monkeypatch.setitem(handlers.HANDLERS, "invoice.finalized", _raise)
    created = deliver(emulator_event("invoice.created"))
    finalized = deliver(emulator_event("invoice.finalized"))
    monkeypatch.undo()
    call_command(
        "billing_replay_events",
        "--type",
        "invoice.finalized",
        "--since",
        str(finalized.stripe_created),
        "--until",
        "2100-01-01",
    )
    created.refresh_from_db()
    finalized.refresh_from_db()
    assert (created.state, finalized.state) == (EventState.FAILED, EventState.DONE)


def _raise(event: WebhookEvent) -> handlers.Outcome:
    raise RuntimeError("down")


def test_a_schedule_made_outside_our_api_shows_as_the_scheduled_change(
    db, catalog, team, deliver
) -> None:
    """A downgrade scheduled in Stripe's Dashboard or portal changes no subscription field,
    so only the schedule's own events tell the mirror."""
    account = subscribe_paid(team, "pro-monthly")
    sdk = stripe_sdk()
    schedule = sdk.v1.subscription_schedules.create(
        {"from_subscription": account.stripe_subscription_id or ""}
    )
    starter = Price.objects.get(lookup_key="starter-monthly").stripe_price_id
    pro = Price.objects.get(lookup_key="pro-monthly").stripe_price_id
    phases: Any = {
        "phases": [
            {
                "items": [{"price": pro, "quantity": 1}],
                "start_date": schedule.current_phase.start_date,  # type: ignore[union-attr]
                "end_date": schedule.current_phase.end_date,  # type: ignore[union-attr]
            },
            {"items": [{"price": starter, "quantity": 1}]},
        ]
    }
    sdk.v1.subscription_schedules.update(schedule.id, phases)

    row = deliver(emulator_event("subscription_schedule.updated"))

    assert (row.state, row.account_id) == (EventState.DONE, account.pk)
    mirror = _account(team)
    assert (mirror.price.lookup_key, mirror.scheduled_price.lookup_key) == (  # type: ignore[union-attr]
        "pro-monthly",
        "starter-monthly",
    )
    sdk.v1.subscription_schedules.release(schedule.id)
    deliver(emulator_event("subscription_schedule.released"))
    assert _account(team).scheduled_price is None
