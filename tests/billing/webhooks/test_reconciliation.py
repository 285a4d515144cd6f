"""What webhooks missed is found anyway: undelivered Stripe events, lost task messages, drift."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import BillingAccount, EventSource, EventState, WebhookEvent
from billing.webhooks import handlers, services
from billing.webhooks.tasks import TenantContextMismatch, billing_account_sync
from tests.support.billing import stripe_sdk, subscribe_paid
from tests.support.processes import free_port
from tests.support.webhooks import fixture_event, fixture_object


def test_reconciliation_ingests_undelivered_events_once(db, catalog, acme) -> None:
    dead = f"http://127.0.0.1:{free_port()}/api/v1/billing/stripe/webhook/"
    stripe_sdk().v1.webhook_endpoints.create({"url": dead, "enabled_events": ["*"]})
    account = subscribe_paid(acme.tenant)
    BillingAccount.objects.filter(pk=account.pk).update(status="incomplete", stripe_state_at=0)

    added = services.webhook_events_reconcile()
    events = WebhookEvent.objects.all()
    assert added == events.count() > 0
    assert {e.source for e in events} == {EventSource.RECONCILE}
    assert {e.type for e in events} <= set(handlers.HANDLERS)
    assert "invoice.paid" in {e.type for e in events}
    assert services.webhook_events_reconcile() == 0  # idempotent

    for pk in services.webhook_events_select(states=[EventState.PENDING]):
        assert services.webhook_event_process(event_pk=pk).state == EventState.DONE
    assert BillingAccount.objects.get(pk=account.pk).status == "active"


def test_the_sweep_requeues_pending_stuck_and_overdue_events(db, monkeypatch) -> None:
    queued: list[int] = []
    monkeypatch.setattr(
        services, "webhook_event_enqueue", lambda *, event_pk: queued.append(event_pk)
    )
    old = timezone.now() - timedelta(minutes=10)
    rows = {}
    for name, state in [
        ("fresh", EventState.PENDING),
        ("lost", EventState.PENDING),
        ("stuck", EventState.PROCESSING),
        ("overdue", EventState.FAILED),
        ("done", EventState.DONE),
    ]:
        event = fixture_event("customer.updated", fixture_object("customer"))
        received = services.webhook_event_record(event=event, source=EventSource.WEBHOOK)
        rows[name] = received.id
        if name != "fresh":
            WebhookEvent.objects.filter(pk=received.id).update(
                state=state, received_at=old, started_at=old, next_attempt_at=old
            )
    queued.clear()  # each was queued when recorded; what counts is what the sweep queues
    assert services.webhook_events_sweep() == 3
    assert sorted(queued) == sorted([rows["lost"], rows["stuck"], rows["overdue"]])


def test_the_nightly_sync_corrects_drift_and_is_idempotent(db, catalog, acme) -> None:
    account = subscribe_paid(acme.tenant)
    stripe_sdk().v1.subscriptions.update(
        account.stripe_subscription_id or "", {"cancel_at_period_end": True}
    )  # and no webhook ever arrives
    with acme.tenant:
        assert billing_account_sync.run(tenant_id=acme.tenant.pk) == "active"
        first = BillingAccount.objects.get(pk=account.pk)
        billing_account_sync.run(tenant_id=acme.tenant.pk)
    second = BillingAccount.objects.get(pk=account.pk)
    assert first.cancel_at_period_end is True
    assert (second.status, second.cancel_at_period_end, second.quantity) == (
        first.status,
        first.cancel_at_period_end,
        first.quantity,
    )


def test_a_tenant_task_refuses_to_run_outside_its_tenants_schema(db, catalog, acme) -> None:
    with pytest.raises(TenantContextMismatch):
        billing_account_sync.run(tenant_id=acme.tenant.pk)  # the public schema is active
