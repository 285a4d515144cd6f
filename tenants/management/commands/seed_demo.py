"""A demo organization for `make run`: idempotent, so every start can call it.

"demo" gets a member of each role, two projects with tasks in every status, and (Stripe
permitting) the Starter plan's trial, started through Stripe like any trial: Free's three
seats would not hold five members.
"""

import datetime as dt
import os
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from accounts.services import membership_create, user_create
from billing.models import Plan, SubscriptionStatus
from billing.services.audit import billing_account_changes_record, billing_account_values
from billing.services.subscriptions import billing_customer_ready, subscription_start_trial
from saas.workspace.models import TaskPriority, TaskStatus
from saas.workspace.services import project_create, task_create
from tenants.models import Tenant
from tenants.organizations import organization_signup
from tenants.selectors import tenant_get_by_slug
from tenants.services import tenant_domain_for

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo@example.com"
DEMO_TRIAL_PLAN = "starter"
# The owner signs in as demo@example.com; one teammate per other role.
DEMO_TEAM = [
    ("demo-admin@example.com", "Ada Admin", Role.ADMIN),
    ("demo-billing@example.com", "Bill Billing", Role.BILLING),
    ("demo-member@example.com", "Mel Member", Role.MEMBER),
    ("demo-viewer@example.com", "Vic Viewer", Role.VIEWER),
]
# project -> [(title, status, priority, due in days, assignee's index in the team or None)]
DEMO_WORK: dict[str, list[tuple[str, str, int, int | None, int | None]]] = {
    "Website relaunch": [
        ("Draft the new landing page copy", TaskStatus.DONE, TaskPriority.NORMAL, -3, 1),
        ("Pick the hero illustration", TaskStatus.IN_PROGRESS, TaskPriority.HIGH, 2, 3),
        ("Set up redirects from the old URLs", TaskStatus.TODO, TaskPriority.URGENT, 5, 1),
        ("Accessibility review", TaskStatus.TODO, TaskPriority.LOW, None, None),
    ],
    "Mobile app beta": [
        ("Invite twenty beta testers", TaskStatus.IN_PROGRESS, TaskPriority.NORMAL, 7, 0),
        ("Crash reporting", TaskStatus.TODO, TaskPriority.HIGH, 10, 3),
        ("App store screenshots", TaskStatus.DONE, TaskPriority.LOW, -1, None),
    ],
}


class Command(BaseCommand):
    help = "Create the demo organization (a member of each role, projects, tasks) if missing."

    def handle(self, *args: Any, **options: Any) -> None:
        if tenant_get_by_slug(slug=DEMO_SLUG) or User.objects.filter(email=DEMO_EMAIL).exists():
            self.stdout.write(f"demo organization present at {tenant_domain_for(DEMO_SLUG)}")
            return
        password = os.environ.get("DEMO_PASSWORD", "demo-password-2026")
        tenant, team = self._organization(password)
        self._work(tenant, team)
        self._trial(tenant)
        domain = tenant_domain_for(DEMO_SLUG)
        self.stdout.write(f"created {domain}, owner {DEMO_EMAIL} / {password}")
        others = ", ".join(f"{email} ({role})" for email, _, role in DEMO_TEAM)
        self.stdout.write(f"  teammates, same password: {others}")

    @staticmethod
    @transaction.atomic
    def _organization(password: str) -> tuple[Tenant, list[User]]:
        signup = organization_signup(
            name="Demo Inc.", slug=DEMO_SLUG, email=DEMO_EMAIL, password=password
        )
        team = [signup.owner]
        for email, full_name, role in DEMO_TEAM:
            user = user_create(email=email, password=password, full_name=full_name)
            membership_create(user=user, tenant_id=signup.tenant.pk, role=role)
            team.append(user)
        return signup.tenant, team

    @staticmethod
    def _work(tenant: Tenant, team: list[User]) -> None:
        today = timezone.localdate()
        with tenant_context(tenant), transaction.atomic():
            for name, tasks in DEMO_WORK.items():
                project = project_create(name=name, created_by=team[0])
                for title, status, priority, due_in, assignee in tasks:
                    task_create(
                        tenant=tenant,
                        project_id=project.pk,
                        created_by=team[0],
                        title=title,
                        status=status,
                        priority=priority,
                        due_date=None if due_in is None else today + dt.timedelta(days=due_in),
                        assignee=None if assignee is None else team[assignee].pk,
                    )

    def _trial(self, tenant: Tenant) -> None:
        """Starter's trial through Stripe (the offline emulator in dev), as an organization
        that signs up with BILLING_SIGNUP_TRIAL gets it. Without Stripe, demo stays on Free
        and says so: its team is then over Free's seat limit until a plan is chosen."""
        try:
            account = billing_customer_ready(tenant_id=tenant.pk)
            if account.status == SubscriptionStatus.NONE:
                before = billing_account_values(account)
                account.plan = Plan.objects.get(code=DEMO_TRIAL_PLAN)
                account.save(update_fields=["plan", "updated_at"])
                billing_account_changes_record(account=account, before=before)
                subscription_start_trial(account=account)
                account.refresh_from_db()
        except Exception as error:  # noqa: BLE001 - the demo works without Stripe, said once
            self.stderr.write(f"demo stays on the Free plan (no Stripe trial): {error}")
            return
        if account.status == SubscriptionStatus.NONE:
            self.stderr.write(
                f"demo has no trial: the {DEMO_TRIAL_PLAN} plan has no Stripe price "
                "(run `saas manage billing_sync_catalog` first)"
            )
