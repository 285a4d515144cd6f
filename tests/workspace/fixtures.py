"""Organizations with a member and a logged-in client, for the workspace and API tests."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Role, User
from billing.models import BillingAccount, Plan
from saas.workspace.models import Project, Task
from tenants.models import Tenant


@dataclass
class Org:
    tenant: Tenant
    user: User
    client: APIClient

    def project(self, **fields: Any) -> Project:
        with self.tenant:
            return Project.objects.create(**{"name": "P", "created_by": self.user, **fields})

    def on_plan(self, code: str) -> "Org":
        """Puts the organization on plan `code` (set directly: these tests are not about
        billing, tests/billing/scenarios go through Stripe)."""
        BillingAccount.objects.filter(tenant=self.tenant).update(plan=Plan.objects.get(code=code))
        return self

    def tasks(self, project: Project, *titles: str, **fields: Any) -> list[Task]:
        with self.tenant:
            return [
                Task.objects.create(project=project, title=title, created_by=self.user, **fields)
                for title in titles
            ]


@pytest.fixture
def make_org(make_tenant, make_member, client_for) -> Callable[..., Org]:
    def make(slug: str, role: str = Role.MEMBER) -> Org:
        tenant = make_tenant(slug)
        user = make_member(tenant, role=role)
        return Org(tenant, user, client_for(tenant, user))

    return make


@pytest.fixture
def acme(make_org) -> Org:
    return make_org("acme")


@pytest.fixture
def beta(make_org) -> Org:
    return make_org("beta")
