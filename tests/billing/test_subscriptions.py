"""Subscriptions through the API: checkout, preview, upgrade, downgrade, cancel, resume,
portal, invoices; roles and isolation."""

import pytest

from accounts.models import Role
from billing.models import BillingAccount, Price
from billing.services.invoices import invoices_refresh
from tenants.models import TenantStatus
from tests.factories import Org
from tests.support.billing import complete_checkout


@pytest.fixture
def billing_member(acme: Org) -> Org:
    """acme's billing manager (beside its owner: two seats)."""
    return acme.join(Role.BILLING)


def test_checkout_returns_a_url_and_completion_makes_an_active_subscription(
    billing_member, client_for, catalog, make_member
) -> None:
    tenant, billing_user = billing_member.tenant, billing_member.user
    client = client_for(tenant, billing_user)

    response = client.post("/api/v1/billing/checkout/", {"price": "starter-monthly"}, format="json")

    assert response.status_code == 201, response.json()
    url = response.json()["url"]
    assert url.startswith("http://127.0.0.1:")
    completed = complete_checkout(url)
    from billing.services.subscriptions import checkout_complete

    checkout_complete(session_id=completed["id"], customer_id=completed["customer"])
    body = client.get("/api/v1/billing/subscription/").json()
    assert body["plan"] == "starter"
    assert body["price"] == "starter-monthly"
    assert body["status"] == "trialing"  # starter has a 14-day trial on first checkout
    assert body["seats"] == 2
    assert body["trial_end"]
    assert body["current_period_end"]
    assert body["cancel_at_period_end"] is False


def test_free_tenants_show_the_free_plan(billing_member, client_for) -> None:
    tenant, user = billing_member.tenant, billing_member.user
    body = client_for(tenant, user).get("/api/v1/billing/subscription/").json()
    assert (body["plan"], body["status"], body["price"]) == ("free", "none", None)


def test_checkout_twice_is_a_conflict(billing_member, client_for, subscribe) -> None:
    tenant, user = billing_member.tenant, billing_member.user
    subscribe(tenant)
    response = client_for(tenant, user).post(
        "/api/v1/billing/checkout/", {"price": "pro-monthly"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_subscribed"


@pytest.mark.parametrize(
    ("price", "status", "code"),
    [("no-such-price", 404, "price_not_found"), ("", 400, "invalid")],
)
def test_checkout_with_a_bad_price(
    billing_member, client_for, catalog, price, status, code
) -> None:
    tenant, user = billing_member.tenant, billing_member.user
    response = client_for(tenant, user).post(
        "/api/v1/billing/checkout/", {"price": price}, format="json"
    )
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def _end_trial(sdk, account: BillingAccount) -> None:
    sdk.Subscription.modify(account.stripe_subscription_id, trial_end="now")


def test_upgrade_charges_what_the_preview_said(billing_member, client_for, subscribe, sdk) -> None:
    tenant, user = billing_member.tenant, billing_member.user
    account = subscribe(tenant, price="starter-monthly")
    _end_trial(sdk, account)
    client = client_for(tenant, user)

    preview = client.post(
        "/api/v1/billing/subscription/preview-change/", {"price": "pro-monthly"}, format="json"
    )
    assert preview.status_code == 200, preview.json()
    assert preview.json()["effective"] == "now"
    due = preview.json()["amount_due_now"]
    assert 0 < due <= 2 * (1900 - 900)  # the difference for 2 seats, for what is left

    changed = client.post(
        "/api/v1/billing/subscription/change/",
        {"price": "pro-monthly", "proration_date": preview.json()["proration_date"]},
        format="json",
    )

    assert changed.status_code == 200, changed.json()
    assert changed.json()["effective"] == "now"
    assert changed.json()["amount_due_now"] == due
    assert changed.json()["subscription"]["plan"] == "pro"
    latest = sdk.Subscription.retrieve(account.stripe_subscription_id).latest_invoice
    invoice = sdk.Invoice.retrieve(latest)
    assert invoice.amount_paid == due
    assert invoice.status == "paid"


def test_preview_changes_nothing(billing_member, client_for, subscribe, sdk) -> None:
    tenant, user = billing_member.tenant, billing_member.user
    account = subscribe(tenant)
    before = sdk.Subscription.retrieve(account.stripe_subscription_id)
    client_for(tenant, user).post(
        "/api/v1/billing/subscription/preview-change/", {"price": "pro-monthly"}, format="json"
    )
    after = sdk.Subscription.retrieve(account.stripe_subscription_id)
    assert after["items"].data[0].price.id == before["items"].data[0].price.id
    assert BillingAccount.objects.get(tenant=tenant).plan.code == "starter"


def test_downgrade_waits_for_the_period_end(billing_member, client_for, subscribe, sdk) -> None:
    tenant, user = billing_member.tenant, billing_member.user
    account = subscribe(tenant, price="pro-monthly")
    _end_trial(sdk, account)

    changed = client_for(tenant, user).post(
        "/api/v1/billing/subscription/change/", {"price": "starter-monthly"}, format="json"
    )

    assert changed.status_code == 200, changed.json()
    body = changed.json()
    assert (body["effective"], body["amount_due_now"]) == ("period_end", 0)
    assert body["subscription"]["plan"] == "pro"  # paid for until the period ends
    assert body["subscription"]["scheduled_change"] == "starter-monthly"
    remote = sdk.Subscription.retrieve(account.stripe_subscription_id, expand=["schedule"])
    assert remote["items"].data[0].price.lookup_key == "pro-monthly"  # Stripe bills pro till then
    first, then = remote.schedule.phases  # and switches to starter by itself at the boundary
    period_end = remote["items"].data[0].current_period_end
    assert (first.end_date, then.start_date) == (period_end, period_end)
    assert then["items"][0].price == Price.objects.get(lookup_key="starter-monthly").stripe_price_id
    invoices = sdk.Invoice.list(customer=account.stripe_customer_id, limit=10).data
    assert all(inv.billing_reason != "subscription_update" for inv in invoices)  # no charge now


def test_cancel_then_resume(billing_member, client_for, subscribe) -> None:
    tenant, user = billing_member.tenant, billing_member.user
    subscribe(tenant)
    client = client_for(tenant, user)

    canceled = client.post("/api/v1/billing/subscription/cancel/")
    assert canceled.status_code == 200
    assert canceled.json()["cancel_at_period_end"] is True
    resumed = client.post("/api/v1/billing/subscription/resume/")
    assert resumed.status_code == 200
    assert resumed.json()["cancel_at_period_end"] is False
    again = client.post("/api/v1/billing/subscription/resume/")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_canceling"


def test_cancel_without_a_subscription_is_a_conflict(billing_member, client_for) -> None:
    tenant, user = billing_member.tenant, billing_member.user
    response = client_for(tenant, user).post("/api/v1/billing/subscription/cancel/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_subscription"


def test_declined_card_on_upgrade_is_402_and_changes_nothing(
    billing_member, client_for, subscribe, sdk
) -> None:
    tenant, user = billing_member.tenant, billing_member.user
    account = subscribe(tenant, price="starter-monthly")
    _end_trial(sdk, account)
    failing = sdk.PaymentMethod.attach(
        "pm_card_chargeCustomerFail", customer=account.stripe_customer_id
    )
    sdk.Subscription.modify(account.stripe_subscription_id, default_payment_method=failing.id)

    response = client_for(tenant, user).post(
        "/api/v1/billing/subscription/change/", {"price": "pro-monthly"}, format="json"
    )

    assert response.status_code == 402, response.json()
    error = response.json()["error"]
    assert error["code"] == "payment_declined"
    assert error["decline_code"]
    remote = sdk.Subscription.retrieve(account.stripe_subscription_id)
    assert remote["items"].data[0].price.lookup_key == "starter-monthly"
    assert BillingAccount.objects.get(tenant=tenant).plan.code == "starter"


def test_portal_returns_a_url(billing_member, client_for, catalog) -> None:
    tenant, user = billing_member.tenant, billing_member.user
    response = client_for(tenant, user).post("/api/v1/billing/portal/")
    assert response.status_code == 201
    assert "/p/session/" in response.json()["url"]


def test_invoices_are_mirrored_newest_first_in_the_tenant_schema(
    billing_member, client_for, subscribe, sdk
) -> None:
    tenant, user = billing_member.tenant, billing_member.user
    account = subscribe(tenant)
    _end_trial(sdk, account)
    assert invoices_refresh(account=BillingAccount.objects.get(tenant=tenant)) == 2

    body = client_for(tenant, user).get("/api/v1/billing/invoices/").json()

    assert body["count"] == 2
    newest, oldest = body["results"]
    assert newest["created"] >= oldest["created"]
    paid = sorted(inv["amount_paid"] for inv in body["results"])
    assert paid == [0, 2 * 900]  # the trial, then the 1st month of 2 seats
    assert {inv["currency"] for inv in body["results"]} == {"usd"}
    assert newest["hosted_invoice_url"].startswith("http://127.0.0.1:")


def test_tenant_a_never_sees_b_subscription_or_invoices(
    acme: Org, beta: Org, subscribe, sdk
) -> None:
    account = subscribe(acme.tenant)
    _end_trial(sdk, account)
    invoices_refresh(account=BillingAccount.objects.get(tenant=acme.tenant))

    assert beta.client.get("/api/v1/billing/subscription/").json()["plan"] == "free"
    assert beta.client.get("/api/v1/billing/invoices/").json()["count"] == 0
    assert acme.client.get("/api/v1/billing/invoices/").json()["count"] == 2


@pytest.mark.parametrize(
    ("role", "read", "write"),
    [
        ("owner", 200, 409),
        ("admin", 200, 409),
        ("billing", 200, 409),
        ("member", 200, 403),
        ("viewer", 200, 403),
    ],
)
def test_only_owner_admin_and_billing_manage_billing(
    make_tenant, make_member, client_for, catalog, role, read, write
) -> None:
    tenant = make_tenant("acme")
    client = client_for(tenant, make_member(tenant, role=role))
    assert client.get("/api/v1/billing/subscription/").status_code == read
    assert client.post("/api/v1/billing/subscription/cancel/").status_code == write


def test_a_read_only_tenant_can_still_pay(billing_member, client_for, catalog) -> None:
    from tenants.resolution import tenant_cache_invalidate
    from tenants.services import tenant_set_status

    tenant, user = billing_member.tenant, billing_member.user
    tenant_set_status(tenant=tenant, status=TenantStatus.READ_ONLY)
    tenant_cache_invalidate()
    client = client_for(tenant, user)
    assert (
        client.post(
            "/api/v1/billing/checkout/", {"price": "pro-monthly"}, format="json"
        ).status_code
        == 201
    )
    assert client.post("/api/v1/projects/", {"name": "x"}, format="json").status_code == 403


def test_a_stale_proration_date_is_refused(billing_member, client_for, subscribe, sdk) -> None:
    tenant, user = billing_member.tenant, billing_member.user
    account = subscribe(tenant)
    _end_trial(sdk, account)
    response = client_for(tenant, user).post(
        "/api/v1/billing/subscription/change/",
        {"price": "pro-monthly", "proration_date": 1_000_000_000},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_proration_date"
    assert BillingAccount.objects.get(tenant=tenant).plan.code == "starter"
