"""A subscription's life around the plan: trials with a card, failed renewals through grace
to read-only and back, cancel and resume, the end of a subscription, seats, two tenants side
by side, and the nightly job repairing a damaged mirror."""

from typing import Any

from billing.models import BillingAccount
from tenants.models import Tenant
from tests.support.billing import stripe_sdk
from tests.support.processes import wait_until
from tests.support.scenarios import (
    DAY,
    Admin,
    World,
    assert_on_the_free_plan,
    pay_on_hosted_page,
    period_of,
    prorated,
    stripe_invoices,
    subscribed,
)


def _card(admin: Admin, card: str) -> None:
    """The customer's card changes (at the bank or in the portal)."""
    client = stripe_sdk()
    pm = client.v1.payment_methods.attach(card, {"customer": admin.customer_id})
    params: Any = {"invoice_settings": {"default_payment_method": pm.id}}
    client.v1.customers.update(admin.customer_id, params)
    sub: Any = {"default_payment_method": pm.id}
    client.v1.subscriptions.update(admin.account.stripe_subscription_id or "", sub)


def _create_project(admin: Admin, name: str) -> int:
    return admin.post("projects/", {"name": name}).status_code


def _tenant_status(admin: Admin) -> str:
    return Tenant.objects.get(slug=admin.slug).status


def test_a_trial_with_a_card_bills_the_first_period_when_it_ends(stripe_world: World) -> None:
    admin = stripe_world.signup("trialcard", trial_days=14)
    assert pay_on_hosted_page(admin.checkout("pro-monthly")).status_code == 303
    stripe_world.settle()
    sub = admin.subscription()
    assert (sub["plan"], sub["status"]) == ("pro", "trialing")
    assert _tenant_status(admin) == "trialing"
    assert [i["amount_paid"] for i in admin.invoices()] == [0]

    admin.advance(days=12)  # three days before the end: Stripe warns
    stripe_world.settle()
    wait_until(lambda: any("trial ends" in s for s in admin.emails()), "trial ending email")
    admin.advance(days=3)
    stripe_world.settle()

    sub = admin.subscription()
    assert (sub["plan"], sub["status"]) == ("pro", "active")
    assert [i["amount_paid"] for i in admin.invoices()] == [1900, 0]
    assert _tenant_status(admin) == "active"
    wait_until(lambda: len(admin.receipts()) == 1, "the first receipt")


def test_a_failed_renewal_goes_through_grace_to_read_only_and_back_when_paid(
    stripe_world: World,
) -> None:
    admin = subscribed(stripe_world, "dunning", "starter-monthly")
    _, end = period_of(admin)
    # Stripe's retry settings (Dashboard): retries over two weeks, so the grace ends first.
    stripe_world.emulator.store.config.retry_schedule_days = [3, 5, 10, 14]
    _card(admin, "pm_card_chargeCustomerFail")

    admin.advance(to=end + 3600)
    stripe_world.settle()
    assert admin.subscription()["status"] == "past_due"
    assert _tenant_status(admin) == "past_due"
    assert _create_project(admin, "During grace") == 201  # full access during the grace
    refused = admin.post("billing/subscription/change/", {"price": "pro-monthly"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "subscription_past_due")
    wait_until(lambda: any("Payment failed" in s for s in admin.emails()), "payment failed")

    admin.advance(days=4)  # a retry fails too; still within BILLING_GRACE_DAYS (7)
    stripe_world.settle()
    _dunning(admin)
    assert _tenant_status(admin) == "past_due"

    admin.advance(days=3.5)  # grace over
    stripe_world.settle()
    _dunning(admin)
    assert _tenant_status(admin) == "read_only"
    refused = admin.post("projects/", {"name": "Refused"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "tenant_read_only")
    assert admin.get("projects/")["count"] == 1  # reads and billing stay open
    assert admin.subscription()["status"] == "past_due"

    _card(admin, "pm_card_visa")
    open_invoice = next(i for i in stripe_invoices(admin) if i.status == "open")
    stripe_sdk().v1.invoices.pay(open_invoice.id)  # the hosted invoice page
    stripe_world.settle()
    assert admin.subscription()["status"] == "active"
    assert _tenant_status(admin) == "active"
    assert _create_project(admin, "Paid") == 201
    assert [i["status"] for i in admin.invoices()] == ["paid", "paid"]
    wait_until(lambda: len(admin.receipts()) == 2, "a receipt for the late payment")
    failed_attempts = 3  # the renewal, and the retries 3 and 5 days later (Stripe's schedule)
    assert sorted(admin.emails()) == sorted(
        admin.receipts() + [f"Payment failed for {admin.slug.title()}"] * failed_attempts
    )


def _dunning(admin: Admin) -> None:
    """The dunning beat job, at the organization's clock time (operator command)."""
    from django.core.management import call_command

    call_command("billing_test_clock", admin.slug, dunning=True, stdout=_Null())


class _Null:
    def write(self, _: str) -> None:
        pass


def test_cancel_resume_then_end_lands_on_the_free_plan_and_resubscribe(stripe_world: World) -> None:
    admin = subscribed(stripe_world, "canceler", "pro-monthly")
    _, end = period_of(admin)
    assert admin.post("billing/subscription/cancel/").json()["cancel_at_period_end"] is True
    assert admin.post("billing/subscription/resume/").json()["cancel_at_period_end"] is False
    assert admin.post("billing/subscription/cancel/").status_code == 200

    admin.advance(to=end + 3600)
    stripe_world.settle()

    assert_on_the_free_plan(admin)
    assert _tenant_status(admin) == "active"  # on the free plan, within its limits
    assert [i["amount_paid"] for i in admin.invoices()] == [1900]  # nothing billed at the end
    wait_until(lambda: any("has ended" in s for s in admin.emails()), "the ended email")

    assert pay_on_hosted_page(admin.checkout("starter-monthly")).status_code == 303
    stripe_world.settle()
    sub = admin.subscription()
    assert (sub["plan"], sub["status"]) == ("starter", "active")  # no second trial
    assert [i["amount_paid"] for i in admin.invoices()] == [900, 1900]


def test_a_scheduled_downgrade_is_dropped_by_a_cancel(stripe_world: World) -> None:
    admin = subscribed(stripe_world, "dropper", "pro-monthly")
    assert admin.post("billing/subscription/change/", {"price": "starter-monthly"}).ok
    canceled = admin.post("billing/subscription/cancel/")
    assert canceled.status_code == 200, canceled.text
    body = canceled.json()
    assert (body["cancel_at_period_end"], body["scheduled_change"]) == (True, None)


def test_seats_up_and_down_are_prorated(stripe_world: World) -> None:
    admin = subscribed(stripe_world, "seats", "starter-monthly")
    start, end = period_of(admin)
    admin.advance(days=10)
    earlier = len(stripe_world.stack.mail.sent_to("ada@example.test"))  # the sink is the session's
    invited = admin.post("invitations/", {"email": "ada@example.test", "role": "member"})
    assert invited.status_code == 201, invited.text
    token = _invitation_token(stripe_world, "ada@example.test", after=earlier)
    accepted = admin.request(
        "POST", f"invitations/{token}/accept/", {"password": "another-horse-battery"}
    )
    assert accepted.status_code in (200, 201), accepted.text
    wait_until(lambda: _stripe_quantity(admin) == 2, "Stripe's quantity follows the members")
    stripe_world.settle()
    assert admin.subscription()["seats"] == 2
    at = _proration_time(admin)
    added = prorated(900, 2, end - at, end - start) - prorated(900, 1, end - at, end - start)
    upcoming: Any = {
        "customer": admin.customer_id,
        "subscription": admin.account.stripe_subscription_id,
    }
    pending = stripe_sdk().v1.invoices.create_preview(upcoming)
    prorations = [line.amount for line in pending.lines.data if line.amount != 1800]
    assert sum(prorations) == added  # charged with the next renewal, per second
    admin.advance(to=end + 3600)
    stripe_world.settle()
    assert [i["amount_paid"] for i in admin.invoices()] == [1800 + added, 900]

    # Down again mid-period: a credit for the seat's unused time, taken off the renewal.
    start, end = period_of(admin)
    admin.advance(days=5)
    members = admin.get("members/")["results"]
    ada = next(m for m in members if m["email"] == "ada@example.test")
    assert admin.request("DELETE", f"members/{ada['user_id']}/").status_code == 204
    wait_until(lambda: _stripe_quantity(admin) == 1, "Stripe's quantity follows the members")
    stripe_world.settle()
    assert admin.subscription()["seats"] == 1
    at = _proration_time(admin)
    credit = prorated(900, 1, end - at, end - start) - prorated(900, 2, end - at, end - start)
    assert credit < 0
    admin.advance(to=end + 3600)
    stripe_world.settle()
    assert [i["amount_paid"] for i in admin.invoices()][0] == 900 + credit


def _invitation_token(stripe_world: World, email: str, *, after: int) -> str:
    """The token of the first invitation email to `email` after the `after` ones already in
    the session's sink (other tests may have invited the same address)."""
    import re

    wait_until(lambda: len(stripe_world.stack.mail.sent_to(email)) > after, "the invitation email")
    message = stripe_world.stack.mail.sent_to(email)[after]
    part = message.get_body(preferencelist=("plain",))
    text = str(part.get_content()) if part else ""
    found = re.search(r"invitations/([A-Za-z0-9_\-]+)", text)
    assert found, text
    return found.group(1)


def _stripe_quantity(admin: Admin) -> int:
    sub = stripe_sdk().v1.subscriptions.retrieve(admin.account.stripe_subscription_id or "")
    return int(sub["items"].data[0].quantity or 0)


def _proration_time(admin: Admin) -> int:
    """When Stripe prorated the latest seat change: its pending proration's period start."""
    params: Any = {"customer": admin.customer_id, "pending": True}
    items = stripe_sdk().v1.invoice_items.list(params).data
    return int(items[0].period.start)


def test_two_tenants_side_by_side_never_touch_each_other(stripe_world: World) -> None:
    acme = subscribed(stripe_world, "acmeside", "pro-monthly")
    beta = subscribed(stripe_world, "betaside", "starter-monthly")
    _, acme_end = period_of(acme)
    assert acme.post("billing/subscription/change/", {"price": "starter-monthly"}).ok

    acme.advance(to=acme_end + 3600)  # only acme's clock moves
    stripe_world.settle()

    assert acme.subscription()["plan"] == "starter"
    assert [i["amount_paid"] for i in acme.invoices()] == [900, 1900]
    assert (beta.subscription()["plan"], beta.subscription()["scheduled_change"]) == (
        "starter",
        None,
    )
    assert [i["amount_paid"] for i in beta.invoices()] == [900]
    own = {i["id"] for i in acme.invoices()}
    assert not own & {i["id"] for i in beta.invoices()}
    # One organization's token is refused on the other's host.
    beta_token, beta.token = beta.token, acme.token
    assert beta.request("GET", "billing/subscription/").status_code == 401
    beta.token = beta_token
    assert beta.request("GET", "billing/subscription/").status_code == 200


def test_the_nightly_sync_repairs_a_damaged_mirror(stripe_world: World) -> None:
    admin = subscribed(stripe_world, "repair", "pro-monthly")
    # Events lost, a bad manual edit: the mirror says something Stripe does not bill.
    BillingAccount.objects.filter(tenant__slug="repair").update(
        status="canceled", quantity=7, cancel_at_period_end=True, stripe_state_at=0
    )
    assert admin.subscription()["status"] == "canceled"

    stripe_world.stack.send_beat("billing.webhooks.tasks.billing_sync_all")

    wait_until(lambda: admin.subscription()["status"] == "active", "the mirror repaired")
    sub = admin.subscription()
    assert (sub["plan"], sub["seats"], sub["cancel_at_period_end"]) == ("pro", 1, False)
    assert len(stripe_invoices(admin)) == len(admin.invoices()) == 1
    assert DAY  # the module's clock unit, used by the other scenarios
