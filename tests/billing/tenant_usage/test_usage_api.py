"""GET /api/v1/usage/: each metric of the current period counted from the rows that hold it
(UsageRecord, memberships, projects, webhook attempts), a daily history with zeros, and the
next invoice exactly as Stripe's own preview states it."""

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Role
from billing import gateway, throttling
from billing.ledger.models import UsageRecord
from billing.services.subscriptions import subscription_apply
from billing.services.usage import usage_collect
from saas.webhooks_out.models import WebhookDelivery
from saas.webhooks_out.services import webhook_delivery_attempt
from tests.factories import Org
from tests.support.billing import stripe_sdk, subscribe_paid
from tests.support.http import assert_error
from tests.support.webhook_receiver import Receiver, register_endpoint

REQUESTS = 5


def _usage(org: Org) -> dict[str, Any]:
    return org.ok("get", "usage/")


@pytest.fixture
def scale(acme: Org, stripe_emulator: Any) -> Org:
    """acme on the metered Scale price; its clock an hour back, so this minute is in the
    first period."""
    subscribe_paid(acme.tenant, "scale-usage", clock_at=int(time.time()) - 3600)
    return acme


def test_api_requests_are_the_collected_rows_plus_the_minutes_not_yet_collected(
    scale: Org,
) -> None:
    for _ in range(REQUESTS):
        scale.ok("get", "projects/")
    # Nothing collected yet: the requests so far (this GET counts itself) come from Redis.
    before = _usage(scale)["metrics"]
    assert before["api_requests"] == {"used": REQUESTS + 1, "limit": None, "unit": "requests"}
    assert before["metered_units"] == before["api_requests"]

    assert usage_collect(now=time.time() + 180) >= 1  # every bucket moved into rows
    with scale.tenant:
        assert sum(r.quantity for r in UsageRecord.objects.all()) == REQUESTS + 1
    after = _usage(scale)
    # The rows, plus this request (not collected yet): nothing counted twice.
    assert after["metrics"]["api_requests"]["used"] == REQUESTS + 2
    assert after["metrics"]["metered_units"]["used"] == REQUESTS + 2
    assert after["period"]["kind"] == "subscription"
    today = timezone.now().astimezone(UTC).date().isoformat()
    assert sum(d["api_requests"] for d in after["daily"]) == REQUESTS + 2
    assert [d["date"] for d in after["daily"]][-1] == today


def test_api_requests_on_a_licensed_plan_are_every_request_made_per_day(
    acme: Org, beta: Org, stripe_emulator: Any
) -> None:
    now = time.time()
    account = subscribe_paid(acme.tenant, "starter-monthly", clock_at=int(now) - 2 * 86400)
    assert account.price is not None
    assert not account.price.metered
    for _ in range(2):  # counted by the throttle's own function, a day back
        throttling.rate_count(tenant_id=acme.tenant.pk, now=now - 86400)
    for _ in range(REQUESTS):
        acme.ok("get", "projects/")
    for _ in range(3):
        beta.ok("get", "projects/")
    # Nothing collected yet: today's requests (this GET counts itself) come from Redis.
    before = _usage(acme)["metrics"]
    assert before["api_requests"] == {"used": REQUESTS + 1, "limit": None, "unit": "requests"}
    assert "metered_units" not in before

    assert usage_collect(now=time.time() + 180) >= 3  # yesterday's, acme's and beta's minutes
    after = _usage(acme)
    today = datetime.fromtimestamp(now, UTC).date()
    by_day = {d["date"]: d["api_requests"] for d in after["daily"]}
    assert by_day[today.isoformat()] == REQUESTS + 2  # the rows, plus this request
    assert by_day[(today - timedelta(days=1)).isoformat()] == 2
    assert sum(by_day.values()) == after["metrics"]["api_requests"]["used"] == REQUESTS + 4
    # beta counts its own requests only, acme's never.
    assert _usage(beta)["metrics"]["api_requests"]["used"] == 3 + 1


def test_seats_and_projects_against_the_plan_in_the_calendar_month_without_a_subscription(
    acme: Org,
) -> None:
    acme.join(Role.MEMBER)
    acme.join(Role.VIEWER)
    acme.project(name="One")
    acme.project(name="Two", archived_at=timezone.now())
    body = _usage(acme)
    metrics = body["metrics"]
    assert metrics["seats"] == {"used": 3, "limit": 3, "unit": "members"}
    assert metrics["projects"] == {"used": 2, "limit": 3, "unit": "projects"}
    # A licensed plan counts its requests too (this GET is the first), and bills none.
    assert metrics["api_requests"] == {"used": 1, "limit": None, "unit": "requests"}
    assert "metered_units" not in metrics
    now = timezone.now().astimezone(UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    assert body["period"]["kind"] == "calendar_month"
    assert datetime.fromisoformat(body["period"]["start"]) == start
    assert datetime.fromisoformat(body["period"]["end"]) == (start + timedelta(days=32)).replace(
        day=1
    )
    assert [d["date"] for d in body["daily"]] == [
        (start + timedelta(days=n)).date().isoformat() for n in range(now.day)
    ]
    assert body["next_invoice"] is None
    assert body["next_invoice_unavailable"] == "no_subscription"


def test_webhook_deliveries_attempted_in_the_period_are_counted(
    acme: Org, hook_receiver: Receiver
) -> None:
    hooks = acme.on_plan("starter")
    register_endpoint(hooks, hook_receiver.url(), ["project.*"])
    for name in ("One", "Two", "Three"):
        hooks.ok("post", "projects/", {"name": name})
    with hooks.tenant:
        deliveries = list(WebhookDelivery.objects.order_by("id"))
        assert len(deliveries) == 3
        for delivery in deliveries[:2]:  # the third is never attempted
            webhook_delivery_attempt(delivery_id=delivery.pk)
    body = _usage(hooks)
    assert body["metrics"]["webhook_deliveries"] == {
        "used": 2,
        "limit": None,
        "unit": "deliveries",
    }
    today = timezone.now().astimezone(UTC).date().isoformat()
    by_day = {d["date"]: d["webhook_deliveries"] for d in body["daily"]}
    assert by_day[today] == 2
    assert sum(by_day.values()) == 2


def test_the_daily_history_has_every_day_of_the_period_with_zeros(
    acme: Org, stripe_emulator: Any
) -> None:
    account = subscribe_paid(acme.tenant, "scale-usage", clock_at=int(time.time()) - 5 * 86400)
    start = account.current_period_start
    assert start is not None
    rows = [(start - timedelta(hours=2), 100), (start + timedelta(days=1), 3)]
    rows += [(start + timedelta(days=3), 5), (start + timedelta(days=3, minutes=5), 2)]
    with acme.tenant:
        for n, (at, quantity) in enumerate(rows):
            UsageRecord.objects.create(
                meter_event_name="api_requests",
                quantity=quantity,
                occurred_at=at,
                identifier=f"test-{n}",
            )
    body = _usage(acme)
    first = start.astimezone(UTC).date()
    today = timezone.now().astimezone(UTC).date()
    days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
    assert len(days) in (6, 7)  # five days back, the clock's minute of the day aside
    expected = dict.fromkeys(days, 0)
    for at, quantity in rows[1:]:  # the row before the period is not counted
        expected[at.astimezone(UTC).date()] += quantity
    expected[today] += 1  # this request, counted in Redis, not collected yet
    assert [(d["date"], d["api_requests"]) for d in body["daily"]] == [
        (day.isoformat(), expected[day]) for day in days
    ]
    assert [d["webhook_deliveries"] for d in body["daily"]] == [0] * len(days)
    assert body["metrics"]["api_requests"]["used"] == 3 + 5 + 2 + 1


def test_next_invoice_is_stripes_own_preview_to_the_cent(acme: Org, stripe_emulator: Any) -> None:
    acme.join(Role.MEMBER)
    account = subscribe_paid(acme.tenant, "starter-monthly")
    body = _usage(acme)
    params: Any = {
        "customer": account.stripe_customer_id,
        "subscription": account.stripe_subscription_id,
    }
    preview = stripe_sdk().v1.invoices.create_preview(params)
    assert body["next_invoice"]["amount_due"] == preview.amount_due == 2 * 900
    assert body["next_invoice"]["currency"] == preview.currency == "usd"
    assert datetime.fromisoformat(body["next_invoice"]["period_end"]) == account.current_period_end
    assert body["next_invoice_unavailable"] is None
    assert datetime.fromisoformat(body["period"]["end"]) == account.current_period_end


def test_stripe_unreachable_answers_the_rest_with_next_invoice_null(
    acme: Org, stripe_emulator: Any, stripe_cut_off: Callable[[], None]
) -> None:
    subscribe_paid(acme.tenant, "starter-monthly")
    stripe_cut_off()
    response = acme.client.get("/api/v1/usage/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["next_invoice"] is None
    assert body["next_invoice_unavailable"] == "payment_provider_unavailable"
    assert body["metrics"]["seats"] == {"used": 1, "limit": 10, "unit": "members"}
    assert body["period"]["kind"] == "subscription"


def test_an_ended_subscription_counts_by_calendar_month_with_no_next_invoice(
    acme: Org, stripe_emulator: Any
) -> None:
    account = subscribe_paid(acme.tenant, "starter-monthly")
    ended = gateway.subscription_cancel_now(account.stripe_subscription_id or "")
    assert subscription_apply(account=account, subscription=ended, stripe_time=int(time.time()) + 1)
    body = _usage(acme)
    assert body["period"]["kind"] == "calendar_month"
    assert body["next_invoice"] is None
    assert body["next_invoice_unavailable"] == "no_subscription"


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ADMIN, 200),
        (Role.BILLING, 200),
        (Role.MEMBER, 403),
        (Role.VIEWER, 403),
    ],
)
def test_owners_admins_and_billing_managers_only(acme: Org, role: str, status: int) -> None:
    response = acme.join(role).client.get("/api/v1/usage/")
    if status == 200:
        assert response.status_code == 200, response.content
    else:
        assert_error(response, 403)


def test_anonymous_is_refused(acme: Org, client_for: Any) -> None:
    assert_error(client_for(acme.tenant).get("/api/v1/usage/"), 401)


def test_another_organization_sees_only_its_own_numbers(
    acme: Org, beta: Org, hook_receiver: Receiver
) -> None:
    hooks = acme.on_plan("starter")
    register_endpoint(hooks, hook_receiver.url(), ["project.*"])
    hooks.ok("post", "projects/", {"name": "Acme's"})
    with hooks.tenant:
        for delivery in WebhookDelivery.objects.all():
            webhook_delivery_attempt(delivery_id=delivery.pk)
        UsageRecord.objects.create(
            meter_event_name="api_requests",
            quantity=50,
            occurred_at=timezone.now(),
            identifier="acme-row",
        )
    hooks.join(Role.MEMBER)
    beta.project(name="Beta's")
    acme_metrics = _usage(hooks)["metrics"]
    beta_metrics = _usage(beta)["metrics"]
    assert (acme_metrics["seats"]["used"], acme_metrics["projects"]["used"]) == (2, 1)
    assert acme_metrics["webhook_deliveries"]["used"] == 1
    assert (beta_metrics["seats"]["used"], beta_metrics["projects"]["used"]) == (1, 1)
    assert beta_metrics["webhook_deliveries"]["used"] == 0
    beta_days = _usage(beta)["daily"]
    assert all(d["webhook_deliveries"] == 0 for d in beta_days)
