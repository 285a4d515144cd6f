"""The test data factories: people, organizations (opened as signup opens them), members
(joined as joining does) and the acting member with a logged-in client (Org). Fixtures in
tests/fixtures wrap these; tests that need more than the fixtures give call them directly."""

from dataclasses import dataclass
from typing import Any
from unittest import mock

import factory
from rest_framework.test import APIClient

import accounts.services
from accounts.models import Membership, Role, User
from accounts.services import membership_create
from billing.models import BillingAccount, Plan
from saas.workspace.models import Project, Task
from tenants.models import Tenant
from tenants.organizations import organization_open
from tenants.resolution import tenant_cache_invalidate
from tests.support.http import access_token, host_of

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    """Users with PASSWORD, created through the manager so the password is hashed."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.test")

    @classmethod
    def _create(cls, model_class: type[User], *args: object, **kwargs: object) -> User:
        kwargs.setdefault("password", PASSWORD)
        return model_class.objects.create_user(*args, **kwargs)  # type: ignore[arg-type]


def make_user(**fields: object) -> User:
    """UserFactory with the User type (factory_boy's call is untyped)."""
    return UserFactory(**fields)  # type: ignore[return-value]


def make_organization(slug: str, **fields: Any) -> Tenant:
    """An organization opened as signup opens it (schema, billing account), named after
    `slug`; the host cache forgets earlier tests' organizations of the same slug."""
    tenant = organization_open(name=slug.title(), slug=slug, **fields)
    tenant_cache_invalidate()
    return tenant


def make_member(tenant: Tenant, role: str = Role.MEMBER, user: User | None = None) -> User:
    """`user` (a new person by default) joins `tenant` with `role`, as joining does."""
    member = user or make_user()
    membership_create(user=member, tenant_id=tenant.pk, role=role)
    return member


def client_for(tenant: Tenant | None, user: User | None = None) -> APIClient:
    """An API client aimed at a tenant's host (or the public host), optionally logged in."""
    client = APIClient(HTTP_HOST=host_of(tenant))
    if user is not None:
        assert tenant is not None, "tokens are minted for a tenant"
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(tenant, user)}")
    return client


def make_invitation(tenant: Tenant, by: User, email: str, role: str = Role.MEMBER) -> str:
    """An invitation to `email` made by member `by` through the service (with `by`'s role);
    returns the token its emailed link carries. The email is captured, not sent."""
    sent: dict[str, Any] = {}
    by_role = Membership.objects.get(tenant=tenant, user=by).role
    with mock.patch.object(accounts.services, "email_send_later", side_effect=sent.update):
        accounts.services.invitation_create(
            tenant=tenant, by=by, by_role=by_role, email=email, role=role, host=host_of(tenant)
        )
    return str(sent["context"]["url"]).rsplit("/", 1)[1]


@dataclass
class Org:
    """An organization, the member a test acts as (`user`, the owner unless asked
    otherwise) and that member's logged-in API client."""

    tenant: Tenant
    user: User
    client: APIClient

    def join(self, role: str = Role.MEMBER) -> "Org":
        """A new member of the same organization with `role`, and its client."""
        user = make_member(self.tenant, role=role)
        return Org(self.tenant, user, client_for(self.tenant, user))

    def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """`method` on /api/v1/`path` as this member, which must succeed; its JSON body."""
        response = getattr(self.client, method)(f"/api/v1/{path}", body, format="json")
        assert response.status_code in (200, 201, 204), response.content
        return response.json() if response.content else {}

    def project(self, **fields: Any) -> Project:
        with self.tenant:
            return Project.objects.create(**{"name": "P", "created_by": self.user, **fields})

    def tasks(self, project: Project, *titles: str, **fields: Any) -> list[Task]:
        with self.tenant:
            return [
                Task.objects.create(project=project, title=title, created_by=self.user, **fields)
                for title in titles
            ]

    def on_plan(self, code: str) -> "Org":
        """Puts the organization on plan `code` (set directly: these tests are not about
        billing, tests/billing/scenarios go through Stripe)."""
        BillingAccount.objects.filter(tenant=self.tenant).update(plan=Plan.objects.get(code=code))
        return self


def make_org(slug: str, role: str = Role.OWNER) -> Org:
    """A new organization and its first member with `role` (the owner by default, as signup
    makes it), logged in."""
    tenant = make_organization(slug)
    user = make_member(tenant, role=role)
    return Org(tenant, user, client_for(tenant, user))


SIGNUP = {
    "name": "Acme Inc.",
    "slug": "acme",
    "email": "Owner@Acme.test",
    "password": "correct-horse-battery",
}
