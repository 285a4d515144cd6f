"""`seed_demo` (run by `make run`) leaves a demo a newcomer can explore: a member of each
role, projects with tasks in every status, and a trial that holds them all, started
through Stripe (the emulator here) like any trial. Running it again changes nothing."""

import io

import stripe
from django.core.management import call_command
from django_tenants.utils import tenant_context

from accounts.models import Membership, Role
from billing.models import BillingAccount, SubscriptionStatus
from saas.workspace.models import Project, Task, TaskStatus
from stripe_emulator.server import EmulatorServer
from tenants.models import Tenant


def test_the_demo_has_every_role_projects_tasks_and_a_trial(
    committed: None, stripe_emulator: EmulatorServer
) -> None:
    call_command("billing_sync_catalog", stdout=io.StringIO())  # as `saas dev` does first
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "demo-viewer@example.com (viewer)" in out.getvalue()

    tenant = Tenant.objects.get(slug="demo")
    roles = sorted(Membership.objects.filter(tenant=tenant).values_list("role", flat=True))
    assert roles == sorted(Role.values)
    with tenant_context(tenant):
        assert Project.objects.count() == 2
        assert set(Task.objects.values_list("status", flat=True)) == set(TaskStatus.values)
        assert Task.objects.filter(assignee__isnull=False).count() >= 3

    account = BillingAccount.objects.select_related("plan").get(tenant=tenant)
    assert account.status == SubscriptionStatus.TRIALING
    assert account.plan.code == "starter"
    assert account.plan.seats_limit is not None
    assert account.plan.seats_limit >= len(Role.values)
    sdk = stripe.StripeClient("sk_test_emulator", base_addresses={"api": stripe_emulator.url})
    subscription = sdk.v1.subscriptions.retrieve(str(account.stripe_subscription_id))
    assert subscription.status == "trialing"
    assert subscription["items"].data[0].quantity == len(Role.values)

    call_command("seed_demo", stdout=io.StringIO())
    assert Tenant.objects.filter(slug="demo").count() == 1
    assert Membership.objects.filter(tenant=tenant).count() == len(Role.values)
