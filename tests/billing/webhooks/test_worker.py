"""The real path: gunicorn receives, a real Celery worker processes, the SMTP sink gets the
email; and a worker killed with SIGKILL mid-task costs nothing but a second run."""

import json
import os
import threading
import time
from typing import Any

import pytest
import requests

from accounts.models import Role
from billing.ledger.models import Invoice
from billing.models import (
    BillingAccount,
    EventSource,
    EventState,
    Plan,
    WebhookEvent,
    WebhookNotification,
)
from billing.services.catalog import catalog_sync_to_stripe
from billing.services.subscriptions import billing_customer_ready, checkout_start
from billing.webhooks import services
from billing.webhooks.tasks import billing_account_sync, webhook_event_process_task
from saas.outbox.models import OutboxMessage
from tenants.models import Tenant
from tests.support.billing import complete_checkout, stripe_sdk, subscribe_paid
from tests.support.processes import REPO, body_text, start_celery_worker, subprocess_env, wait_until
from tests.support.webhooks import SECRET, URL, emulator_event, signed

pytestmark = pytest.mark.slow


def _state(event_id: str) -> str | None:
    return (
        WebhookEvent.objects.filter(stripe_event_id=event_id)
        .values_list("state", flat=True)
        .first()
    )


def test_checkout_to_receipt_end_to_end(
    mail, make_tenant, make_member, start_server, stripe_emulator
) -> None:
    tenant = make_tenant("endtoend")
    owner = make_member(tenant, role=Role.OWNER)
    Plan.objects.filter(code="starter").update(trial_days=0)  # a paid first invoice
    catalog_sync_to_stripe()
    endpoint = stripe_sdk().v1.webhook_endpoints.create(
        {"url": "http://localhost:0/", "enabled_events": ["*"]}
    )
    server = start_server(STRIPE_WEBHOOK_SECRETS=str(endpoint.secret))
    stripe_sdk().v1.webhook_endpoints.update(
        endpoint.id, {"url": f"http://localhost:{server.port}{URL}"}
    )
    billing_customer_ready(tenant_id=tenant.pk)
    session = checkout_start(tenant=tenant, price_lookup_key="starter-monthly", host="x")
    complete_checkout(session.url)

    account = BillingAccount.objects.filter(tenant=tenant)
    wait_until(lambda: account.get().status == "active", "subscription active")
    receipt = mail.wait_for(owner.email)
    assert str(receipt["Subject"]).startswith("Receipt ")
    assert "9.00 USD" in body_text(receipt)
    assert account.get().plan.code == "starter"
    tenant.refresh_from_db()
    assert tenant.status == "active"
    wait_until(
        lambda: _state(emulator_event("checkout.session.completed")["id"]) == EventState.DONE,
        "checkout event done",
    )


def test_duplicate_and_concurrent_deliveries_have_one_effect_and_one_email(
    mail, make_tenant, make_member, start_server, stripe_emulator
) -> None:
    tenant = make_tenant("dupes")
    owner = make_member(tenant, role=Role.OWNER)
    billing = make_member(tenant, role=Role.BILLING)
    subscribe_paid(tenant)
    paid = emulator_event("invoice.paid")
    body = json.dumps(paid, indent=2)
    server = start_server(STRIPE_WEBHOOK_SECRETS=SECRET)
    barrier = threading.Barrier(4)
    answers: list[dict] = []

    def deliver() -> None:
        barrier.wait()
        answers.append(_post(server.url, body).json())

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a["duplicate"] for a in answers) == [False, True, True, True]

    wait_until(lambda: _state(paid["id"]) == EventState.DONE, "event processed")
    assert _post(server.url, body).json()["duplicate"] is True  # a late retry by Stripe
    mail.wait_for(owner.email)
    mail.wait_for(billing.email)
    assert WebhookEvent.objects.filter(stripe_event_id=paid["id"]).count() == 1
    assert WebhookNotification.objects.filter(event__stripe_event_id=paid["id"]).count() == 1
    assert len(mail.sent_to(owner.email)) == 1
    assert len(mail.sent_to(billing.email)) == 1


def _post(base: str, body: str) -> requests.Response:
    response = requests.post(
        base + URL,
        data=body.encode(),
        headers={
            "Host": "localhost",
            "Content-Type": "application/json",
            "Stripe-Signature": signed(body),
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response


def test_a_task_sent_from_a_tenant_schema_runs_in_that_schema(
    mail, make_tenant, make_member, stripe_emulator
) -> None:
    tenant = make_tenant("schemas")
    make_member(tenant, role=Role.OWNER)
    account = subscribe_paid(tenant)
    stripe_sdk().v1.subscriptions.update(
        account.stripe_subscription_id or "", {"cancel_at_period_end": True}
    )
    with tenant:  # tenant-schemas-celery puts the schema in the message
        billing_account_sync.delay(tenant_id=tenant.pk)
    # The task refuses to run anywhere but its tenant's schema: the drift is corrected only
    # if the worker ran it there.
    wait_until(
        lambda: BillingAccount.objects.get(pk=account.pk).cancel_at_period_end, "drift corrected"
    )
    # The task goes on to mirror the invoices into the tenant's schema: wait for that too, or
    # its writes race the table flush that ends the test (a deadlock on a slow machine).
    wait_until(lambda: _invoices_mirrored(tenant) == 1, "invoices mirrored")


def _invoices_mirrored(tenant: Tenant) -> int:
    with tenant:
        return Invoice.objects.count()


def test_a_worker_killed_mid_task_runs_it_again_and_the_effect_happens_once(
    committed, smtp_sink, make_tenant, make_member, stripe_emulator, monkeypatch
) -> None:
    tenant = make_tenant("sigkill")
    owner = make_member(tenant, role=Role.OWNER)
    subscribe_paid(tenant)
    paid = emulator_event("invoice.paid")
    invoice_path = f"/v1/invoices/{paid['data']['object']['id']}"
    row = services.webhook_event_record(event=paid, source=EventSource.WEBHOOK)
    # The test hands the task to the worker itself: the outbox must not hand it over too.
    OutboxMessage.objects.filter(kwargs__event_pk=row.id).delete()

    # The handler's first Stripe call blocks until released: the task is surely mid-way.
    arrived, release = threading.Event(), threading.Event()
    real_handle = stripe_emulator.emulator.handle

    def handle(method: str, target: str, *args: Any) -> Any:
        if method == "GET" and target.startswith(invoice_path) and not release.is_set():
            arrived.set()
            release.wait(30)
        return real_handle(method, target, *args)

    monkeypatch.setattr(stripe_emulator.emulator, "handle", handle)
    queue = f"{os.environ.get('CELERY_QUEUE', 'celery')}-sigkill"
    env = subprocess_env(
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_sink.port}",
        CELERY_QUEUE=queue,
        CELERY_VISIBILITY_TIMEOUT="2",  # Redis redelivers an unacked task after 2 s
        CELERY_UNACKED_KEY=f"unacked-{queue}",  # and only this test's tasks
    )
    first = start_celery_worker(env, str(REPO))
    try:
        webhook_event_process_task.apply_async(kwargs={"event_pk": row.id}, queue=queue)
        assert arrived.wait(30), "the task never reached Stripe"
        first.kill()
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    release.set()
    stuck = WebhookEvent.objects.get(pk=row.id)
    assert (stuck.state, stuck.attempts) == (EventState.PROCESSING, 1)
    assert not WebhookNotification.objects.exists()  # the killed run rolled back

    time.sleep(2.5)  # past the visibility timeout: the next worker restores the message
    second = start_celery_worker(env, str(REPO))
    try:
        wait_until(lambda: _state(paid["id"]) == EventState.DONE, "redelivered and done", 45)
        smtp_sink.wait_for(owner.email)
    finally:
        second.terminate()
        second.wait(20)
    done = WebhookEvent.objects.get(pk=row.id)
    assert done.attempts == 2
    assert WebhookNotification.objects.filter(event=done).count() == 1
    assert len(smtp_sink.sent_to(owner.email)) == 1
