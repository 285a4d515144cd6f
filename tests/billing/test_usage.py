"""API usage: every tenant's requests are counted in Redis (no database write per request) and
moved into UsageRecord rows once their minute is closed. On the metered "scale" plan they are
reported to Stripe once however often the report runs, and billed at renewal; on a licensed
plan never."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from billing import gateway, throttling
from billing.ledger.models import UsageRecord
from billing.models import Price
from billing.services.subscriptions import subscription_apply
from billing.services.usage import usage_collect, usage_report, usage_report_all
from billing.tasks import billing_usage_collect_and_report
from tests.support.billing import clock_advance, stripe_sdk, subscribe_paid

REQUESTS = 4


@pytest.fixture
def scale(make_tenant, make_member, stripe_emulator, client_for):
    tenant = make_tenant("acme")
    owner = make_member(tenant, role=Role.OWNER)
    # The clock starts an hour back, so this minute's usage falls in the first period.
    account = subscribe_paid(tenant, "scale-usage", clock_at=int(time.time()) - 3600)
    return tenant, account, client_for(tenant, owner)


def _records(tenant) -> list[UsageRecord]:
    with tenant:
        return list(UsageRecord.objects.order_by("identifier"))


def test_usage_is_reported_once_and_billed_at_renewal(scale) -> None:
    tenant, account, client = scale
    with CaptureQueriesContext(connection) as queries:
        for _ in range(REQUESTS):
            assert client.get("/api/v1/projects/").status_code == 200
    assert not [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert usage_collect() == 0  # this minute is still open

    assert usage_collect(now=time.time() + 180) >= 1
    assert usage_collect(now=time.time() + 180) == 0  # moved once
    records = _records(tenant)
    assert sum(r.quantity for r in records) == REQUESTS
    assert all(r.identifier.startswith(f"{tenant.pk}-") for r in records)
    assert {r.meter_event_name for r in records} == {"api_requests"}

    assert usage_report_all() == len(records)
    billing_usage_collect_and_report()  # the beat job again: nothing new to send
    # A run that sent its events but died before marking them sends them again:
    with tenant:
        UsageRecord.objects.update(reported_at=None)
    assert usage_report_all() == len(records)  # Stripe already holds those identifiers
    assert all(r.reported_at for r in _records(tenant))

    clock_advance(account.stripe_customer_id or "", _period_end(account) + 60)
    assert _billed_usage(account) == REQUESTS


def _meter_events(emulator, customer_id: str) -> list[dict]:
    """The meter events the emulator holds for `customer_id`."""
    return [e for e in emulator.store.usage if e["payload"]["stripe_customer_id"] == customer_id]


def test_a_licensed_tenants_requests_are_collected_and_never_reported(
    make_tenant, make_member, stripe_emulator, client_for
) -> None:
    tenant = make_tenant("acme")
    client = client_for(tenant, make_member(tenant, role=Role.OWNER))
    account = subscribe_paid(tenant, "starter-monthly", clock_at=int(time.time()) - 3600)
    for _ in range(REQUESTS):
        assert client.get("/api/v1/projects/").status_code == 200

    assert usage_collect(now=time.time() + 180) >= 1
    records = _records(tenant)
    assert sum(r.quantity for r in records) == REQUESTS
    assert not [r for r in records if r.metered]
    assert usage_report(account=account) == 0
    assert usage_report_all() == 0
    assert all(r.reported_at is None for r in _records(tenant))
    assert _meter_events(stripe_emulator, account.stripe_customer_id or "") == []


def test_a_move_to_metered_mid_period_reports_only_the_metered_requests_once(
    make_tenant, make_member, stripe_emulator, client_for
) -> None:
    tenant = make_tenant("acme")
    client = client_for(tenant, make_member(tenant, role=Role.OWNER))
    account = subscribe_paid(tenant, "starter-monthly", clock_at=int(time.time()) - 3600)
    for _ in range(3):
        assert client.get("/api/v1/projects/").status_code == 200
    changed = client.post(
        "/api/v1/billing/subscription/change/", {"price": "scale-usage"}, format="json"
    )
    assert changed.status_code == 200, changed.json()  # counted before the change: licensed
    for _ in range(REQUESTS):
        assert client.get("/api/v1/projects/").status_code == 200

    usage_collect(now=time.time() + 180)
    records = _records(tenant)
    assert sum(r.quantity for r in records) == 3 + 1 + REQUESTS
    metered = [r for r in records if r.metered]
    assert sum(r.quantity for r in records if not r.metered) == 3 + 1
    assert sum(r.quantity for r in metered) == REQUESTS
    assert usage_report_all() == len(metered)
    assert usage_report_all() == 0
    events = _meter_events(stripe_emulator, account.stripe_customer_id or "")
    assert sorted(e["identifier"] for e in events) == sorted(r.identifier for r in metered)
    assert sum(int(e["payload"]["value"]) for e in events) == REQUESTS
    usage = client.get("/api/v1/usage/").json()["metrics"]  # counts itself, metered
    assert usage["api_requests"]["used"] == 3 + 1 + REQUESTS + 1
    assert usage["metered_units"]["used"] == REQUESTS + 1


def test_metered_usage_left_when_the_price_stops_being_metered_is_still_reported(
    scale, stripe_emulator
) -> None:
    """Requests served on the metered price in the period's last minutes, then the scheduled
    move to a licensed price takes effect before the collector and reporter ran: those minutes
    are still reported (once), since the reporter visits every account with metered rows
    left, not only those metered now."""
    tenant, account, client = scale
    scheduled = client.post(
        "/api/v1/billing/subscription/change/", {"price": "starter-monthly"}, format="json"
    )
    assert scheduled.status_code == 200, scheduled.json()  # from metered: at the period end
    for _ in range(REQUESTS):
        assert client.get("/api/v1/projects/").status_code == 200
    clock_advance(account.stripe_customer_id or "", _period_end(account) + 60)
    # What customer.subscription.updated's handler does with the subscription it fetches.
    subscription_apply(
        account=account,
        subscription=gateway.subscription_retrieve(account.stripe_subscription_id or ""),
        stripe_time=int(time.time()),
    )
    account.refresh_from_db()
    assert account.price is not None
    assert not account.price.metered

    usage_collect(now=time.time() + 180)
    metered = [r for r in _records(tenant) if r.metered]
    assert sum(r.quantity for r in metered) == REQUESTS + 1  # the change request too
    assert usage_report_all() == len(metered)
    assert usage_report_all() == 0
    events = _meter_events(stripe_emulator, account.stripe_customer_id or "")
    assert sorted(e["identifier"] for e in events) == sorted(r.identifier for r in metered)
    account.refresh_from_db()
    assert account.usage_unreported is False  # nothing left: the reporter stops visiting


def test_collecting_costs_the_same_queries_however_many_minutes_each_tenant_has(
    make_tenant,
) -> None:
    tenants = [make_tenant("acme"), make_tenant("beta")]

    def collect(minutes: int, since: float) -> tuple[int, int]:
        for tenant in tenants:
            for minute in range(minutes):
                throttling.rate_count(tenant_id=tenant.pk, now=since + minute * 60)
        with CaptureQueriesContext(connection) as queries:
            made = usage_collect()
        # Statements, the schema switches aside (the first depends on where the last test
        # query left the connection).
        sql = [q["sql"] for q in queries.captured_queries]
        return made, len([s for s in sql if not s.startswith("SET search_path")])

    few = collect(1, time.time() - 3 * 3600)
    many = collect(6, time.time() - 2 * 3600)
    assert (few[0], many[0]) == (2, 12)  # one row per tenant and minute
    # The accounts, then per tenant one transaction (here a savepoint): a SELECT, an INSERT.
    assert many[1] == few[1] == 1 + 2 * 4
    assert [sum(r.quantity for r in _records(t)) for t in tenants] == [7, 7]


def _period_end(account) -> int:
    sdk = stripe_sdk()
    subscription = sdk.v1.subscriptions.retrieve(account.stripe_subscription_id)
    return int(subscription["items"].data[0].current_period_end)


def _billed_usage(account) -> int:
    sdk = stripe_sdk()
    price_id = Price.objects.get(lookup_key="scale-usage").stripe_price_id
    subscription = sdk.v1.subscriptions.retrieve(account.stripe_subscription_id)
    invoice = sdk.v1.invoices.retrieve(str(subscription.latest_invoice))
    lines = [
        line
        for line in invoice.lines.data
        if line.to_dict()["pricing"]["price_details"]["price"] == price_id
    ]
    return sum(int(line.quantity or 0) for line in lines)


def test_usage_in_the_minute_the_subscription_starts_is_billed(
    make_tenant, make_member, stripe_emulator, client_for
) -> None:
    """A subscription starting mid-minute: that minute's requests were stamped at the
    minute's start, before the period, and Stripe billed none of them."""
    if time.time() % 60 > 45:  # keep the subscription and the requests in one minute
        time.sleep(61 - time.time() % 60)
    if time.time() % 60 < 2:
        time.sleep(2)
    tenant = make_tenant("acme")
    owner = make_member(tenant, role=Role.OWNER)
    account = subscribe_paid(tenant, "scale-usage", clock_at=int(time.time()))
    client = client_for(tenant, owner)
    for _ in range(7):
        assert client.get("/api/v1/projects/").status_code == 200

    usage_collect(now=time.time() + 180)
    usage_report_all()
    clock_advance(account.stripe_customer_id or "", _period_end(account) + 60)

    assert _billed_usage(account) == 7
    start = account.current_period_start
    assert start is not None
    assert all(r.occurred_at >= start for r in _records(tenant))
