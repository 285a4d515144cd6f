"""Every audited action (`AUDITED_ACTIONS`) written by its real path: the organization's API
for what members do, the services the Stripe webhook and the operator's tools call for the
rest, bulk changes included. Each scenario runs on its own and must leave its action in the
organization's log, and only there (a second organization's log stays empty)."""

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings

import accounts.services as account_services
from accounts.models import Role
from billing import gateway
from billing.models import Plan, Price
from billing.services.catalog import catalog_sync_to_stripe
from billing.services.subscriptions import billing_customer_ready, checkout_complete
from saas.audit.models import AuditEntry
from saas.audit.services import AUDITED_ACTIONS
from saas.webhooks_out.models import WebhookDelivery
from saas.webhooks_out.services import webhook_delivery_attempt
from tenants.models import Tenant
from tenants.operations import tenant_reactivate, tenant_suspend
from tests.factories import PASSWORD as PASSWORD_OF_FACTORIES
from tests.factories import Org, client_for, make_member, make_org
from tests.support.billing import complete_checkout, subscribe_through_checkout
from tests.support.domains import DnsServer
from tests.support.mfa import MFA, enroll, logged_in_with_mfa, totp_clock_stop, totp_code
from tests.support.oidc_idp import running_provider
from tests.support.processes import free_port
from tests.support.sso import sso_configure, sso_domain_prove
from tests.support.webauthn import WEBAUTHN, enroll_key

PASSWORD = "a-long-enough-password-2026"


def _invite(org: Org, email: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    """An invitation over the API; its id and the token its email carries."""
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(account_services, "email_send_later", lambda **kw: sent.append(kw))
    invitation = org.ok("post", "invitations/", {"email": email, "role": "viewer"})
    return invitation["id"], sent[-1]["context"]["url"].rsplit("/", 1)[1]


def _project(org: Org) -> dict[str, Any]:
    return org.ok("post", "projects/", {"name": "Rocket"})


def _task(org: Org) -> tuple[str, dict[str, Any]]:
    tasks = f"projects/{_project(org)['id']}/tasks/"
    return tasks, org.ok("post", tasks, {"title": "Fuel"})


def _oauth_app(org: Org) -> int:
    return org.ok(
        "post",
        "oauth/applications/",
        {"name": "Sync", "grant_type": "client-credentials", "scopes": ["read"]},
    )["id"]


def _scim_token(org: Org) -> int:
    Plan.objects.filter(code=settings.BILLING_SIGNUP_PLAN).update(
        features=["api", "audit_log", "scim"]
    )
    return int(org.ok("post", "scim/tokens/", {"name": "Okta"})["id"])


def _webhook_endpoint(org: Org) -> int:
    """An endpoint on loopback where nothing listens (every delivery to it fails)."""
    url = f"http://127.0.0.1:{free_port()}/hook"
    return int(
        org.ok("post", "webhook-endpoints/", {"url": url, "event_types": ["project.*"]})["id"]
    )


def _webhook_endpoint_disabled(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    """A delivery fails with no retry left (an empty schedule): the endpoint is disabled."""
    _webhook_endpoint(org)
    monkeypatch.setattr(settings, "WEBHOOKS_RETRY_SCHEDULE", [])
    _project(org)
    with org.tenant:
        for delivery_id in WebhookDelivery.objects.values_list("id", flat=True):
            webhook_delivery_attempt(delivery_id=delivery_id)


def _api_key(org: Org) -> int:
    return int(org.ok("post", "api-keys/", {"name": "CI", "scopes": ["read"]})["id"])


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
    paid = complete_checkout(session.url)
    checkout_complete(session_id=paid["id"], customer_id=paid["customer"])


def _accept(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    _, token = _invite(org, "ada@acme.test", monkeypatch)
    accepted = client_for(org.tenant).post(
        f"/api/v1/invitations/{token}/accept/", {"password": PASSWORD}, format="json"
    )
    assert accepted.status_code in (200, 201), accepted.content


def _project_deleted(org: Org) -> None:
    org.ok("delete", f"projects/{_project(org)['id']}/")


def _task_updated(org: Org) -> None:
    tasks, task = _task(org)
    org.ok("patch", f"{tasks}{task['id']}/", {"status": "done"})


def _task_deleted(org: Org) -> None:
    tasks, task = _task(org)
    org.ok("delete", f"{tasks}{task['id']}/")


def _oauth_app_updated(org: Org) -> None:
    org.ok("patch", f"oauth/applications/{_oauth_app(org)}/", {"name": "Sync 2"})


def _oauth_app_deleted(org: Org) -> None:
    org.ok("delete", f"oauth/applications/{_oauth_app(org)}/")


def _domain(org: Org) -> dict[str, Any]:
    return org.ok("post", "domains/", {"hostname": "app.customer.test"})


def _domain_verified(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verified by its TXT record, served by a DNS server on loopback."""
    domain = _domain(org)
    server = DnsServer()
    try:
        server.records[(domain["verification"]["dns"]["name"], "TXT")] = [
            domain["verification"]["dns"]["value"]
        ]
        monkeypatch.setattr(settings, "CUSTOM_DOMAINS_DNS_NAMESERVERS", ["127.0.0.1"])
        monkeypatch.setattr(settings, "CUSTOM_DOMAINS_DNS_PORT", server.port)
        org.ok("post", f"domains/{domain['id']}/verify/")
    finally:
        server.stop()


def _sso_configured(org: Org, *, then_delete: bool = False) -> None:
    """Single sign-on through a real provider on loopback (acme on Pro, which sells it)."""
    with running_provider() as idp:
        assert sso_configure(org.on_plan("pro"), idp).status_code == 200
    if then_delete:
        org.ok("delete", "sso/")


def _sso_domain_verified(org: Org, monkeypatch: pytest.MonkeyPatch, claimed: str) -> None:
    """`org` on Pro lists `claimed` for single sign-on and proves it by its TXT record,
    served by a DNS server on loopback."""
    server = DnsServer()
    try:
        monkeypatch.setattr(settings, "CUSTOM_DOMAINS_DNS_NAMESERVERS", ["127.0.0.1"])
        monkeypatch.setattr(settings, "CUSTOM_DOMAINS_DNS_PORT", server.port)
        with running_provider() as idp:
            assert sso_configure(org.on_plan("pro"), idp, domains=[claimed]).status_code == 200
        sso_domain_prove(org, server, claimed)
    finally:
        server.stop()


def _sso_claim_removed(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    """`org` lists acme.test and a third organization proves it first: `org`'s claim goes."""
    with running_provider() as idp:
        assert sso_configure(org.on_plan("pro"), idp, domains=["acme.test"]).status_code == 200
    _sso_domain_verified(make_org("gamma"), monkeypatch, "acme.test")


def _role_changed(org: Org) -> None:
    member = make_member(org.tenant, Role.MEMBER)
    org.ok("patch", f"members/{member.pk}/", {"role": "billing"})


def _removed(org: Org) -> None:
    org.ok("delete", f"members/{make_member(org.tenant, Role.VIEWER).pk}/")


def _transferred(org: Org) -> None:
    admin = make_member(org.tenant, Role.ADMIN)
    org.ok("post", "members/transfer-ownership/", {"user_id": admin.pk})


def _suspended_and_back(org: Org) -> None:
    tenant_suspend(tenant=org.tenant)  # what the operator admin's action calls
    tenant_reactivate(tenant=org.tenant)


def _mfa_enrolled(org: Org, monkeypatch: pytest.MonkeyPatch) -> str:
    totp_clock_stop(monkeypatch)
    return enroll(org.client).secret


def _mfa_policy_on(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    Plan.objects.filter(code=settings.BILLING_SIGNUP_PLAN).update(
        features=["api", "audit_log", "sso"]
    )
    client = logged_in_with_mfa(org, totp_code(_mfa_enrolled(org, monkeypatch)))
    answer = client.put(f"{MFA}policy/", {"require_for_admins": True}, format="json")
    assert answer.status_code == 200, answer.content


def _mfa_after_enrolling(path: str) -> Callable[..., object]:
    def scenario(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
        _mfa_enrolled(org, monkeypatch)
        org.ok("post", f"auth/mfa/{path}", {"password": PASSWORD_OF_FACTORIES})

    return scenario


def _webauthn_key_removed(org: Org) -> None:
    enroll_key(org)
    key_id = org.client.get(WEBAUTHN).json()["results"][0]["id"]
    org.ok("post", f"auth/mfa/webauthn/{key_id}/remove/", {"password": PASSWORD_OF_FACTORIES})


SCENARIOS: dict[str, Callable[..., object]] = {
    "member.added": lambda org, mp: make_member(org.tenant, Role.MEMBER),
    "member.role_changed": lambda org, mp: _role_changed(org),
    "member.removed": lambda org, mp: _removed(org),
    "ownership.transferred": lambda org, mp: _transferred(org),
    "invitation.created": lambda org, mp: _invite(org, "x@acme.test", mp),
    "invitation.revoked": lambda org, mp: org.ok(
        "delete", f"invitations/{_invite(org, 'x@acme.test', mp)[0]}/"
    ),
    "invitation.accepted": lambda org, mp: _accept(org, mp),
    "oauth_app.created": lambda org, mp: _oauth_app(org),
    "oauth_app.updated": lambda org, mp: _oauth_app_updated(org),
    "oauth_app.deleted": lambda org, mp: _oauth_app_deleted(org),
    "sso.configured": lambda org, mp: _sso_configured(org),
    "sso.deleted": lambda org, mp: _sso_configured(org, then_delete=True),
    "sso.domain_verified": lambda org, mp: _sso_domain_verified(org, mp, "acme.test"),
    "sso.domain_claim_removed": _sso_claim_removed,
    "billing.subscription_changed": lambda org, mp: subscribe_through_checkout(org.tenant),
    "billing.duplicate_subscription_canceled": lambda org, mp: _second_checkout_paid(org),
    "organization.updated": lambda org, mp: org.ok("patch", "organization/", {"name": "Acme 2"}),
    "organization.status_changed": lambda org, mp: _suspended_and_back(org),
    "domain.added": lambda org, mp: _domain(org),
    "domain.verified": lambda org, mp: _domain_verified(org, mp),
    "domain.removed": lambda org, mp: org.ok("delete", f"domains/{_domain(org)['id']}/"),
    "project.created": lambda org, mp: _project(org),
    "project.updated": lambda org, mp: org.ok(
        "patch", f"projects/{_project(org)['id']}/", {"name": "Moon"}
    ),
    "project.deleted": lambda org, mp: _project_deleted(org),
    "task.created": lambda org, mp: _task(org),
    "task.updated": lambda org, mp: _task_updated(org),
    "task.deleted": lambda org, mp: _task_deleted(org),
    "mfa.totp_enabled": _mfa_enrolled,
    "mfa.totp_removed": _mfa_after_enrolling("totp/remove/"),
    "mfa.recovery_codes_regenerated": _mfa_after_enrolling("recovery-codes/regenerate/"),
    "mfa.policy_changed": _mfa_policy_on,
    "mfa.webauthn_added": lambda org, mp: enroll_key(org),
    "mfa.webauthn_removed": lambda org, mp: _webauthn_key_removed(org),
    "scim.token_created": lambda org, mp: _scim_token(org),
    "scim.token_revoked": lambda org, mp: org.ok("delete", f"scim/tokens/{_scim_token(org)}/"),
    "webhook_endpoint.created": lambda org, mp: _webhook_endpoint(org),
    "webhook_endpoint.updated": lambda org, mp: org.ok(
        "patch", f"webhook-endpoints/{_webhook_endpoint(org)}/", {"description": "CI"}
    ),
    "webhook_endpoint.deleted": lambda org, mp: org.ok(
        "delete", f"webhook-endpoints/{_webhook_endpoint(org)}/"
    ),
    "webhook_endpoint.secret_rotated": lambda org, mp: org.ok(
        "post", f"webhook-endpoints/{_webhook_endpoint(org)}/rotate-secret/"
    ),
    "webhook_endpoint.disabled": _webhook_endpoint_disabled,
    "api_key.created": lambda org, mp: _api_key(org),
    "api_key.updated": lambda org, mp: org.ok("patch", f"api-keys/{_api_key(org)}/", {"name": "x"}),
    "api_key.rotated": lambda org, mp: org.ok("post", f"api-keys/{_api_key(org)}/rotate/", {}),
    "api_key.revoked": lambda org, mp: org.ok("delete", f"api-keys/{_api_key(org)}/"),
}


def _count(tenant: Tenant, action: str | None = None) -> int:
    with tenant:
        entries = AuditEntry.objects.all()
        return (entries.filter(action=action) if action else entries).count()


@pytest.fixture
def org(acme: Org, stripe_emulator: Any) -> Org:
    """acme and its owner, on a plan with every feature the scenarios use (the OAuth2 API,
    the audit log, custom domains), with the catalog in Stripe."""
    catalog_sync_to_stripe()
    Plan.objects.filter(code=settings.BILLING_SIGNUP_PLAN).update(
        features=["api", "audit_log", "custom_domains"]
    )
    return acme


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
