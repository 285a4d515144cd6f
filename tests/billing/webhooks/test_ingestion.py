"""The endpoint: signature on the raw body, stored once, answered fast, nothing else."""

import json
import threading
import time
from typing import Any

import pytest
from django.db import connection

from billing.models import EventSource, EventState, WebhookEvent
from billing.webhooks import services
from saas.outbox import services as outbox_services
from saas.outbox.models import OutboxMessage
from tests.support.webhooks import OLD_SECRET, fixture_event, fixture_object, signed


def _event(type_: str = "customer.updated") -> dict[str, Any]:
    return fixture_event(type_, fixture_object("customer", id="cus_ingest_test"))


def test_a_signed_event_is_stored_once_and_queued_after_commit(
    db, post_event, django_capture_on_commit_callbacks
) -> None:
    event = _event()
    with django_capture_on_commit_callbacks() as queued:
        response = post_event(event)
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    row = WebhookEvent.objects.get(stripe_event_id=event["id"])
    assert (row.type, row.state, row.attempts, row.source) == (
        "customer.updated",
        EventState.PENDING,
        0,
        EventSource.WEBHOOK,
    )
    assert row.payload == event
    assert len(queued) == 1


def test_a_duplicate_is_answered_2xx_and_stored_and_queued_once(
    db, post_event, django_capture_on_commit_callbacks
) -> None:
    event = _event()
    assert post_event(event).status_code == 200
    with django_capture_on_commit_callbacks() as queued:
        again = post_event(json.dumps(event))  # Stripe's retry: same event, new signature
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert WebhookEvent.objects.filter(stripe_event_id=event["id"]).count() == 1
    assert queued == []


def test_an_event_signed_with_the_previous_secret_is_accepted_during_rotation(
    db, post_event
) -> None:
    event = _event()
    body = json.dumps(event)
    assert post_event(body, signed(body, secret=OLD_SECRET)).status_code == 200


def _stale(body: str) -> str:
    return signed(body, timestamp=int(time.time()) - 301)


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        pytest.param(lambda body: ("t=1,v1=" + "0" * 64, body), "invalid_signature", id="bad"),
        pytest.param(lambda body: (_stale(body), body), "invalid_signature", id="stale"),
        pytest.param(
            lambda body: (signed(body, secret="whsec_someone_else"), body),
            "invalid_signature",
            id="wrong-secret",
        ),
        pytest.param(
            # Same JSON, other bytes: what a proxy or framework that re-serialises would send.
            lambda body: (signed(body), json.dumps(json.loads(body), separators=(",", ":"))),
            "invalid_signature",
            id="reserialised",
        ),
        pytest.param(lambda body: ("", body), "invalid_signature", id="missing"),
        pytest.param(lambda body: (signed("{not json"), "{not json"), "malformed_event", id="json"),
        pytest.param(lambda body: (signed("[1, 2]"), "[1, 2]"), "malformed_event", id="not-event"),
    ],
)
def test_a_bad_delivery_is_400_and_stores_nothing(db, post_event, tamper, code) -> None:
    body = json.dumps(_event(), indent=2)
    signature, sent = tamper(body)
    response = post_event(sent, signature)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert not WebhookEvent.objects.exists()


def test_an_unknown_event_type_is_recorded_and_ignored(db, post_event) -> None:
    event = fixture_event("plan.created", fixture_object("plan"))
    assert post_event(event).status_code == 200
    row = WebhookEvent.objects.get(stripe_event_id=event["id"])
    services.webhook_event_process(event_pk=row.pk)
    row.refresh_from_db()
    assert (row.state, row.note) == (EventState.IGNORED, "event type not handled")


def test_the_endpoint_needs_no_login_csrf_or_tenant_and_makes_no_stripe_call(
    db, post_event, django_assert_max_num_queries, monkeypatch
) -> None:
    monkeypatch.setattr("billing.gateway._client", lambda: pytest.fail("Stripe was called"))
    # search_path, then one INSERT ... ON CONFLICT and the outbox row of its processing (a
    # savepoint pair here, a commit in prod; the hand-over to Celery follows the commit)
    with django_assert_max_num_queries(5):
        assert post_event(_event()).status_code == 200


class Clock:
    """The outbox's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(outbox_services, "_clock", fake)
    monkeypatch.setattr(outbox_services, "_relay_requested_at", float("-inf"))
    monkeypatch.setattr(outbox_services, "_handover_paused_until", 0.0)
    return fake


@pytest.fixture
def relay_runs(monkeypatch, clock) -> list[None]:
    """Relay runs asked for (instead of a Celery message per event)."""
    calls: list[None] = []
    monkeypatch.setattr(outbox_services, "_publish_relay_run", lambda: calls.append(None))
    return calls


def test_a_burst_of_events_asks_for_one_relay_run_not_a_publish_each(
    committed, monkeypatch, relay_runs, clock
) -> None:
    """Ingestion's cost: a burst within one window is handed to Celery by one relay run on a
    worker, which starts after the window (so it sees every row of the burst); each event's
    task is published there, once, in the order received."""
    published: list[int] = []
    monkeypatch.setattr(
        outbox_services, "_publish", lambda m, **kw: published.append(m.kwargs["event_pk"])
    )
    rows = [
        services.webhook_event_record(event=_event(), source=EventSource.WEBHOOK) for _ in range(20)
    ]
    assert len(relay_runs) == 1
    assert published == []
    assert outbox_services.outbox_relay() == 20
    assert published == [row.id for row in rows]
    clock.now += outbox_services.RELAY_REQUEST_WINDOW
    late = services.webhook_event_record(event=_event(), source=EventSource.WEBHOOK)
    assert len(relay_runs) == 2  # after the window, an event asks for a run of its own
    assert outbox_services.outbox_relay() == 1
    assert published[-1] == late.id


def test_with_the_broker_down_an_event_is_stored_and_relayed_later(
    committed, monkeypatch, post_event, clock
) -> None:
    def broker_down() -> None:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(outbox_services, "_publish_relay_run", broker_down)
    event = _event()
    assert post_event(event).status_code == 200  # Stripe hears 200: the event is stored
    row = WebhookEvent.objects.get(stripe_event_id=event["id"])
    published: list[dict] = []
    monkeypatch.setattr(
        outbox_services, "_publish", lambda message, **kw: published.append(message.kwargs)
    )
    assert outbox_services.outbox_relay() == 1  # beat's relay, once the broker is back
    assert published == [{"event_pk": row.pk}]


def test_two_concurrent_copies_are_stored_and_queued_once(committed, relay_runs) -> None:
    event = _event()
    barrier = threading.Barrier(4)
    results: list[services.Received] = []

    def receive() -> None:
        try:
            barrier.wait()
            results.append(services.webhook_event_record(event=event, source="webhook"))
        finally:
            connection.close()

    threads = [threading.Thread(target=receive) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert len({r.id for r in results}) == 1
    assert WebhookEvent.objects.filter(stripe_event_id=event["id"]).count() == 1
    assert OutboxMessage.objects.filter(kwargs__event_pk=results[0].id).count() == 1
