"""A card-less trial from signup (BILLING_SIGNUP_PLAN=pro, BILLING_SIGNUP_TRIAL=true): when
it ends without a card, Stripe cancels it and the organization is on the free plan, with
the free plan's limits, not on the plan it tried."""

from tests.support.processes import wait_until
from tests.support.scenarios import World, assert_on_the_free_plan, pay_on_hosted_page

STACK_ENV = {"BILLING_SIGNUP_PLAN": "pro", "BILLING_SIGNUP_TRIAL": "true"}


def test_a_trial_without_a_card_ends_on_the_free_plan(stripe_world: World) -> None:
    admin = stripe_world.signup("cardless", trial_days=14)
    wait_until(lambda: admin.subscription()["status"] == "trialing", "the signup trial")
    stripe_world.settle()
    entitlements = admin.entitlements()
    assert (entitlements["plan"]["code"], entitlements["features"]["sso"]) == ("pro", True)

    admin.advance(days=12)  # Stripe warns three days before the end
    stripe_world.settle()
    wait_until(lambda: any("trial ends" in s for s in admin.emails()), "trial ending email")
    admin.advance(days=3)
    stripe_world.settle()

    assert_on_the_free_plan(admin)
    assert admin.invoices()[0]["amount_paid"] == 0
    assert not admin.receipts()
    wait_until(lambda: any("has ended" in s for s in admin.emails()), "the ended email")

    # Paying afterwards starts a paid subscription at once: the trial was used.
    assert pay_on_hosted_page(admin.checkout("pro-monthly")).status_code == 303
    stripe_world.settle()
    sub = admin.subscription()
    assert (sub["plan"], sub["status"]) == ("pro", "active")
    assert admin.invoices()[0]["amount_paid"] == 1900
