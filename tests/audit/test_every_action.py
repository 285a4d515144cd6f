"""Every audited action (`AUDITED_ACTIONS`) written by its real path: the organization's API
for what members do, the services the Stripe webhook and the operator's tools call for the
rest, bulk changes included. Each scenario runs on its own and must leave its action in the
organization's log, and only there (a second organization's log stays empty)."""

from collections.abc import Callable
from typing import Any

import pytest
import requests
from django.conf import settings

import accounts.services as account_services
from accounts.models import Role, User
from billing import gateway
from billing.models import Plan, Price
from billing.services.catalog import catalog_sync_to_stripe
from billing.services.subscriptions import billing_customer_ready, checkout_complete, checkout_start
from saas.audit.models import AuditEntry
from saas.audit.services import AUDITED_ACTIONS
from tenants.models import Tenant
from tenants.operations import tenant_reactivate, tenant_suspend

PASSWORD = "a-long-enough-password-2026"


class Org:
    """One organization with its owner, driven over its API like a browser would."""

    def __init__(self, tenant: Tenant, owner: User, make_member: Any, client_for: Any) -> None:
        self.tenant, self.owner = tenant, owner
        self.make_member, self.client_for = make_member, client_for
        self.api = client_for(tenant, owner)

    def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = getattr(self.api, method)(f"/api/v1/{path}", body, format="json")
        assert response.status_code in (200, 201, 204), response.content
        return response.json() if response.content else {}

    def invite(self, email: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
        sent: list[dict[str, Any]] = []
        monkeypatch.setattr(account_services, "email_send_later", lambda **kw: sent.append(kw))
        invitation = self.ok("post", "invitations/", {"email": email, "role": "viewer"})
        return invitation["id"], sent[-1]["context"]["url"].rsplit("/", 1)[1]

    def project(self) -> dict[str, Any]:
        return self.ok("post", "projects/", {"name": "Rocket"})

    def task(self) -> tuple[str, dict[str, Any]]:
        tasks = f"projects/{self.project()['id']}/tasks/"
        return tasks, self.ok("post", tasks, {"title": "Fuel"})

    def oauth_app(self) -> int:
        return self.ok(
            "post",
            "oauth/applications/",
            {"name": "Sync", "grant_type": "client-credentials", "scopes": ["read"]},
        )["id"]


def _complete_checkout(session_url: str) -> dict[str, Any]:
    """Pays on the emulator's hosted page, as the customer would."""
    session_id = session_url.rstrip("/").rsplit("/", 1)[1]
    paid = requests.post(
        f"{settings.STRIPE_API_BASE}/_emulator/checkout/{session_id}/complete",
        json={"payment_method": "pm_card_visa"},
        timeout=10,
    )
    assert paid.status_code == 200, paid.text
    return dict(paid.json())


def subscribe_through_checkout(tenant: Tenant, price: str = "starter-monthly") -> str:
    """Checkout, then what Stripe's checkout.session.completed webhook runs."""
    session = checkout_start(tenant=tenant, price_lookup_key=price, host="acme.localhost")
    paid = _complete_checkout(session.url)
    account = checkout_complete(session_id=paid["id"], customer_id=paid["customer"])
    assert account is not None
    return str(account.stripe_subscription_id)


def _second_checkout_paid(org: Org) -> None:
    """A second subscription, paid through a session made outside our API (the Dashboard, an
    old integration): what the webhook of its completion does is cancel and refund it."""
    subscribe_through_checkout(org.tenant)
    customer = billing_customer_ready(tenant_id=org.tenant.pk).stripe_customer_id or ""
    price = Price.objects.get(lookup_key="pro-monthly").stripe_price_id
    session = gateway.checkout_session_create(
        customer_id=customer,
        price_id=price,
        quantity=1,
        success_url="http://example.test/ok",
        cancel_url="http://example.test/no",
        trial_days=0,
        metadata={},
        idempotency_key="audit-second-checkout",
    )
    paid = _complete_checkout(session.url)
    checkout_complete(session_id=paid["id"], customer_id=paid["customer"])


def _accept(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    _, token = org.invite("ada@acme.test", monkeypatch)
    accepted = org.client_for(org.tenant).post(
        f"/api/v1/invitations/{token}/accept/", {"password": PASSWORD}, format="json"
    )
    assert accepted.status_code in (200, 201), accepted.content


def _project_deleted(org: Org) -> None:
    org.ok("delete", f"projects/{org.project()['id']}/")


def _task_updated(org: Org) -> None:
    tasks, task = org.task()
    org.ok("patch", f"{tasks}{task['id']}/", {"status": "done"})


def _task_deleted(org: Org) -> None:
    tasks, task = org.task()
    org.ok("delete", f"{tasks}{task['id']}/")


def _oauth_app_updated(org: Org) -> None:
    org.ok("patch", f"oauth/applications/{org.oauth_app()}/", {"name": "Sync 2"})


def _oauth_app_deleted(org: Org) -> None:
    org.ok("delete", f"oauth/applications/{org.oauth_app()}/")


def _role_changed(org: Org) -> None:
    member = org.make_member(org.tenant, Role.MEMBER)
    org.ok("patch", f"members/{member.pk}/", {"role": "billing"})


def _removed(org: Org) -> None:
    org.ok("delete", f"members/{org.make_member(org.tenant, Role.VIEWER).pk}/")


def _transferred(org: Org) -> None:
    admin = org.make_member(org.tenant, Role.ADMIN)
    org.ok("post", "members/transfer-ownership/", {"user_id": admin.pk})


def _suspended_and_back(org: Org) -> None:
    tenant_suspend(tenant=org.tenant)  # what the operator admin's action calls
    tenant_reactivate(tenant=org.tenant)


SCENARIOS: dict[str, Callable[..., object]] = {
    "member.added": lambda org, mp: org.make_member(org.tenant, Role.MEMBER),
    "member.role_changed": lambda org, mp: _role_changed(org),
    "member.removed": lambda org, mp: _removed(org),
    "ownership.transferred": lambda org, mp: _transferred(org),
    "invitation.created": lambda org, mp: org.invite("x@acme.test", mp),
    "invitation.revoked": lambda org, mp: org.ok(
        "delete", f"invitations/{org.invite('x@acme.test', mp)[0]}/"
    ),
    "invitation.accepted": lambda org, mp: _accept(org, mp),
    "oauth_app.created": lambda org, mp: org.oauth_app(),
    "oauth_app.updated": lambda org, mp: _oauth_app_updated(org),
    "oauth_app.deleted": lambda org, mp: _oauth_app_deleted(org),
    "billing.subscription_changed": lambda org, mp: subscribe_through_checkout(org.tenant),
    "billing.duplicate_subscription_canceled": lambda org, mp: _second_checkout_paid(org),
    "organization.updated": lambda org, mp: org.ok("patch", "organization/", {"name": "Acme 2"}),
    "organization.status_changed": lambda org, mp: _suspended_and_back(org),
    "project.created": lambda org, mp: org.project(),
    "project.updated": lambda org, mp: org.ok(
        "patch", f"projects/{org.project()['id']}/", {"name": "Moon"}
    ),
    "project.deleted": lambda org, mp: _project_deleted(org),
    "task.created": lambda org, mp: org.task(),
    "task.updated": lambda org, mp: _task_updated(org),
    "task.deleted": lambda org, mp: _task_deleted(org),
}


def _count(tenant: Tenant, action: str | None = None) -> int:
    with tenant:
        entries = AuditEntry.objects.all()
        return (entries.filter(action=action) if action else entries).count()


@pytest.fixture
def org(db: None, stripe_emulator: Any, make_tenant, make_member, client_for) -> Org:
    catalog_sync_to_stripe()
    # Every feature the scenarios use (the OAuth2 API) on the signup plan.
    Plan.objects.filter(code=settings.BILLING_SIGNUP_PLAN).update(features=["api", "audit_log"])
    acme = make_tenant("acme")
    return Org(acme, make_member(acme, Role.OWNER), make_member, client_for)


def test_every_audited_action_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(AUDITED_ACTIONS)


@pytest.mark.parametrize("action", sorted(AUDITED_ACTIONS))
def test_each_action_is_written_by_its_path_into_its_organizations_log(
    org: Org, make_tenant, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    bystander = make_tenant("beta")
    before = _count(org.tenant, action)
    SCENARIOS[action](org, monkeypatch)
    assert _count(org.tenant, action) > before
    assert _count(bystander) == 0
