"""The audit log: an entry for each audited action, with the right actor, IP, request id and
changes, readable by that organization's owners and admins only, with filters."""

import pytest
from django.conf import settings
from django.test import override_settings

import accounts.services as account_services
from accounts.models import Role, User
from billing.models import BillingAccount, Plan
from billing.services.catalog import catalog_sync_to_stripe
from saas.audit.models import AuditEntry
from saas.workspace.services import project_delete, project_update
from tenants.operations import tenant_archive
from tests.factories import Org
from tests.support.billing import subscribe_through_checkout

URL = "/api/v1/audit-log/"


def entries(tenant, **filters):
    with tenant:
        return list(AuditEntry.objects.filter(**filters).order_by("id"))


def the_entry(tenant, action):
    found = entries(tenant, action=action)
    assert len(found) == 1, [e.action for e in entries(tenant)]
    return found[0]


@pytest.fixture(autouse=True)
def _signup_plan_has_the_audit_log(db) -> None:
    """These tests are about the log; test_reading_needs_the_audit_log_feature is about the
    plan that may read it."""
    plan = Plan.objects.get(code=settings.BILLING_SIGNUP_PLAN)
    plan.features = [*plan.features, "audit_log"]
    plan.save(update_fields=["features"])


@pytest.fixture
def owner(acme: Org) -> User:
    return acme.user


def test_project_changes_are_recorded_with_actor_ip_request_id_and_changes(
    db, acme, owner, client_for
) -> None:
    client = client_for(acme.tenant, owner)
    created = client.post(
        "/api/v1/projects/",
        {"name": "Rocket", "description": "d"},
        format="json",
        HTTP_X_REQUEST_ID="req-create-0001",
        REMOTE_ADDR="203.0.113.7",
    )
    assert created.status_code == 201, created.content
    entry = the_entry(acme.tenant, "project.created")
    assert (entry.actor_kind, entry.actor_id, entry.actor_email) == ("user", owner.pk, owner.email)
    assert (entry.ip, entry.request_id) == ("203.0.113.7", "req-create-0001")
    assert (entry.target_type, entry.target_id) == ("project", str(created.json()["id"]))
    assert entry.changes["name"] == {"before": None, "after": "Rocket"}

    project_id = created.json()["id"]
    with acme.tenant:  # the services, outside any request (a command, a task)
        project_update(project_id=project_id, name="Rocket 2")
        project_update(project_id=project_id, name="Rocket 2")  # nothing changed: no entry
        project_delete(project_id=project_id)
    updated = the_entry(acme.tenant, "project.updated")
    assert updated.changes == {"name": {"before": "Rocket", "after": "Rocket 2"}}
    assert updated.actor_kind == "system"  # no request: the platform did it
    assert the_entry(acme.tenant, "project.deleted").target_id == entry.target_id


def test_forwarded_for_is_trusted_only_through_configured_proxies(
    db, acme, owner, client_for
) -> None:
    client = client_for(acme.tenant, owner)
    spoofed = {"HTTP_X_FORWARDED_FOR": "198.51.100.1, 10.0.0.2", "REMOTE_ADDR": "10.0.0.9"}
    client.post("/api/v1/projects/", {"name": "A"}, format="json", **spoofed)
    rest = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    with override_settings(REST_FRAMEWORK=rest):
        client.post("/api/v1/projects/", {"name": "B"}, format="json", **spoofed)
    assert [e.ip for e in entries(acme.tenant, action="project.created")] == [
        "10.0.0.9",
        "10.0.0.2",
    ]


def test_membership_changes_are_recorded(db, acme, owner, make_member, client_for) -> None:
    admin = make_member(acme.tenant, Role.ADMIN)
    member, other = make_member(acme.tenant, Role.MEMBER), make_member(acme.tenant, Role.VIEWER)
    as_admin = client_for(acme.tenant, admin)

    assert (
        as_admin.patch(
            f"/api/v1/members/{member.pk}/", {"role": "billing"}, format="json"
        ).status_code
        == 200
    )
    assert as_admin.delete(f"/api/v1/members/{other.pk}/").status_code == 204
    assert (
        client_for(acme.tenant, owner)
        .post("/api/v1/members/transfer-ownership/", {"user_id": admin.pk}, format="json")
        .status_code
        == 200
    )

    (changed,) = entries(acme.tenant, action="member.role_changed", target_id=str(member.pk))
    assert changed.changes == {"role": {"before": "member", "after": "billing"}}
    assert (changed.actor_id, changed.target_id) == (admin.pk, str(member.pk))
    removed = the_entry(acme.tenant, "member.removed")
    assert (removed.target_id, removed.changes["role"]["before"]) == (str(other.pk), "viewer")
    transferred = the_entry(acme.tenant, "ownership.transferred")
    assert (transferred.actor_id, transferred.target_id) == (owner.pk, str(admin.pk))
    # The previous owner's demotion is the transfer's other half.
    demoted = entries(acme.tenant, action="member.role_changed", target_id=str(owner.pk))
    assert demoted[0].changes == {"role": {"before": "owner", "after": "admin"}}


def test_invitations_are_recorded_created_revoked_and_accepted(
    db, acme, owner, client_for, monkeypatch
) -> None:
    sent = []
    monkeypatch.setattr(account_services, "email_send_later", lambda **kw: sent.append(kw))
    client = client_for(acme.tenant, owner)
    first = client.post("/api/v1/invitations/", {"email": "x@acme.test"}, format="json")
    assert first.status_code == 201, first.content
    assert client.delete(f"/api/v1/invitations/{first.json()['id']}/").status_code == 204
    assert (
        client.post(
            "/api/v1/invitations/", {"email": "ada@acme.test", "role": "viewer"}, format="json"
        ).status_code
        == 201
    )
    token = sent[-1]["context"]["url"].rsplit("/", 1)[1]
    accepted = client_for(acme.tenant).post(
        f"/api/v1/invitations/{token}/accept/",
        {"password": "a-long-enough-password-2026"},
        format="json",
        REMOTE_ADDR="192.0.2.44",
    )
    assert accepted.status_code in (200, 201), accepted.content

    created = entries(acme.tenant, action="invitation.created")
    assert [e.changes["email"]["after"] for e in created] == ["x@acme.test", "ada@acme.test"]
    assert created[0].actor_id == owner.pk
    assert the_entry(acme.tenant, "invitation.revoked").target_id == str(first.json()["id"])
    joined = the_entry(acme.tenant, "invitation.accepted")
    assert (joined.actor_email, joined.ip) == ("ada@acme.test", "192.0.2.44")
    assert "token_hash" not in str([e.changes for e in entries(acme.tenant)])


def test_oauth_applications_are_recorded_without_secrets(db, acme, owner, client_for) -> None:
    Plan.objects.filter(code=settings.BILLING_SIGNUP_PLAN).update(features=["api"])
    client = client_for(acme.tenant, owner)
    app = {"name": "Sync", "grant_type": "client-credentials", "scopes": ["read"]}
    created = client.post("/api/v1/oauth/applications/", app, format="json")
    assert created.status_code == 201, created.content
    app_id = created.json()["id"]
    assert (
        client.patch(
            f"/api/v1/oauth/applications/{app_id}/", {"name": "Sync 2"}, format="json"
        ).status_code
        == 200
    )
    assert client.delete(f"/api/v1/oauth/applications/{app_id}/").status_code == 204

    actions = [e.action for e in entries(acme.tenant, target_type="oauth_app")]
    assert actions == ["oauth_app.created", "oauth_app.updated", "oauth_app.deleted"]
    assert the_entry(acme.tenant, "oauth_app.updated").changes == {
        "name": {"before": "Sync", "after": "Sync 2"}
    }
    everything = str([e.changes for e in entries(acme.tenant)])
    assert created.json()["client_secret"] not in everything
    assert "client_secret" not in everything


def test_subscription_changes_by_webhooks_are_recorded_as_system(db, acme, stripe_emulator) -> None:
    catalog_sync_to_stripe()
    subscribe_through_checkout(acme.tenant)  # checkout, then what its webhook runs

    entry = the_entry(acme.tenant, "billing.subscription_changed")
    assert entry.actor_kind == "system"
    assert entry.actor_id is None
    assert entry.changes["plan"] == {"before": "free", "after": "starter"}
    assert entry.changes["price"] == {"before": None, "after": "starter-monthly"}
    assert entry.changes["status"] == {"before": "none", "after": "trialing"}  # Starter's trial


def test_replacing_a_pending_invitation_records_its_revocation(
    db, acme, owner, client_for, monkeypatch
) -> None:
    """A second invitation to the same address revokes the pending one (a bulk change that
    once left no entry)."""
    monkeypatch.setattr(account_services, "email_send_later", lambda **kw: None)
    client = client_for(acme.tenant, owner)
    first = client.post("/api/v1/invitations/", {"email": "x@acme.test"}, format="json")
    second = client.post("/api/v1/invitations/", {"email": "x@acme.test"}, format="json")
    assert (first.status_code, second.status_code) == (201, 201)

    revoked = the_entry(acme.tenant, "invitation.revoked")
    assert revoked.target_id == str(first.json()["id"])
    assert revoked.actor_id == owner.pk
    assert revoked.changes["revoked_at"]["before"] is None
    assert len(entries(acme.tenant, action="invitation.created")) == 2


def test_archiving_records_the_canceled_subscription(db, acme, stripe_emulator) -> None:
    """Archiving cancels the subscription in Stripe and marks the account canceled (a bulk
    change that once left no entry), then the organization archived."""
    catalog_sync_to_stripe()
    subscribe_through_checkout(acme.tenant)

    tenant_archive(tenant=acme.tenant)

    canceled = entries(acme.tenant, action="billing.subscription_changed")[-1]
    assert canceled.changes == {"status": {"before": "trialing", "after": "canceled"}}
    assert canceled.actor_kind == "system"
    archived = entries(acme.tenant, action="organization.status_changed")[-1]
    assert archived.changes["status"]["after"] == "archived"


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER, Role.BILLING])
def test_only_owners_and_admins_read_the_log(db, acme, make_member, client_for, role) -> None:
    response = client_for(acme.tenant, make_member(acme.tenant, role)).get(URL)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert client_for(acme.tenant).get(URL).status_code == 401


def test_the_log_is_per_organization(db, acme, owner, make_tenant, make_member, client_for) -> None:
    client_for(acme.tenant, owner).post("/api/v1/projects/", {"name": "Secret"}, format="json")
    beta = make_tenant("beta")
    beta_admin = make_member(beta, Role.ADMIN)
    theirs = client_for(beta, beta_admin).get(URL).json()["results"]
    assert "project.created" not in [e["action"] for e in theirs]
    assert all(e["actor_id"] != owner.pk for e in theirs)
    ours = client_for(acme.tenant, make_member(acme.tenant, Role.ADMIN)).get(URL).json()["results"]
    # Newest first: the admin's own joining, then the project.
    assert [e["action"] for e in ours][:2] == ["member.added", "project.created"]


def test_filters(db, acme, owner, make_member, client_for) -> None:
    client = client_for(acme.tenant, owner)
    for name in ("A", "B"):
        client.post("/api/v1/projects/", {"name": name}, format="json")
    member = make_member(acme.tenant)
    with acme.tenant:
        first = AuditEntry.objects.filter(action="project.created").order_by("id")[0]
        AuditEntry.objects.filter(pk=first.pk).update(created_at="2020-01-01T00:00:00Z")

    def actions(**params):
        response = client.get(URL, params)
        assert response.status_code == 200, response.content
        return [e["action"] for e in response.json()["results"]]

    assert actions(action="project.created") == ["project.created"] * 2
    assert actions(action="project.") == ["project.created"] * 2
    assert actions(actor=owner.pk) == ["project.created"] * 2
    assert set(actions(actor_kind="system")) >= {"member.added"}
    assert actions(target_type="member", target_id=str(member.pk)) == ["member.added"]
    assert actions(action="project.created", since="2021-01-01T00:00:00Z") == ["project.created"]
    assert actions(action="project.created", until="2021-01-01T00:00:00Z") == ["project.created"]
    assert actions(action="nothing.like.this") == []
    page = client.get(URL, {"page_size": 1}).json()
    assert len(page["results"]) == 1
    assert page["count"] == len(entries(acme.tenant))


@pytest.mark.parametrize(
    "params",
    [
        {"actor": "me"},
        {"actor": "0"},
        {"actor_kind": "robot"},
        {"since": "yesterday"},
        {"until": "2026-13-01"},
        {"until": ""},
        {"action": "x" * 65},
        {"target_id": "a\x00b"},
    ],
)
def test_bad_filter_values_are_400(db, acme, owner, client_for, params) -> None:
    response = client_for(acme.tenant, owner).get(URL, params)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"]


def test_tasks_and_project_edits_over_the_api_are_recorded(db, acme, owner, client_for) -> None:
    client = client_for(acme.tenant, owner)
    project = client.post("/api/v1/projects/", {"name": "Rocket"}, format="json").json()
    renamed = client.patch(f"/api/v1/projects/{project['id']}/", {"name": "Moon"}, format="json")
    assert renamed.status_code == 200, renamed.content
    tasks = f"/api/v1/projects/{project['id']}/tasks/"
    task = client.post(tasks, {"title": "Fuel"}, format="json")
    assert task.status_code == 201, task.content
    done = client.patch(f"{tasks}{task.json()['id']}/", {"status": "done"}, format="json")
    assert done.status_code == 200, done.content

    assert the_entry(acme.tenant, "project.updated").changes == {
        "name": {"before": "Rocket", "after": "Moon"}
    }
    created = the_entry(acme.tenant, "task.created")
    assert (created.actor_id, created.target_id) == (owner.pk, str(task.json()["id"]))
    assert created.changes["title"] == {"before": None, "after": "Fuel"}
    updated = the_entry(acme.tenant, "task.updated")
    assert updated.changes == {"status": {"before": "todo", "after": "done"}}
    assert updated.actor_kind == "user"


def test_an_oauth2_application_is_recorded_as_the_actor(db, acme, owner, client_for) -> None:
    from django.test import Client

    from tests.support.oauth import App, form_post

    Plan.objects.filter(code=settings.BILLING_SIGNUP_PLAN).update(features=["api"])
    registered = client_for(acme.tenant, owner).post(
        "/api/v1/oauth/applications/",
        {"name": "Bot", "grant_type": "client-credentials", "scopes": ["read", "write"]},
        format="json",
    )
    body = registered.json()
    app = App.__new__(App)
    app.client_id, app.secret = body["client_id"], body["client_secret"]
    token = form_post(
        Client(HTTP_HOST=settings.BASE_DOMAIN),
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "write"},
        HTTP_AUTHORIZATION=app.basic,
    ).json()["access_token"]
    bot = client_for(acme.tenant)
    bot.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert (
        bot.post("/api/v1/projects/", {"name": "Made by a bot"}, format="json").status_code == 201
    )

    entry = the_entry(acme.tenant, "project.created")
    assert (entry.actor_kind, entry.actor_app) == ("oauth2_app", body["client_id"])
    assert (entry.actor_id, entry.actor_email) == (owner.pk, owner.email)


def test_reading_needs_the_audit_log_feature(db, acme, owner, client_for) -> None:
    """Free advertises `audit_log: false`: reading is a 402 naming the feature, though the
    entries are recorded (they show once the plan includes it)."""
    Plan.objects.filter(code=settings.BILLING_SIGNUP_PLAN).update(features=[])
    client = client_for(acme.tenant, owner)
    assert client.post("/api/v1/projects/", {"name": "Kept"}, format="json").status_code == 201
    assert client.get("/api/v1/billing/entitlements/").json()["features"]["audit_log"] is False
    refused = client.get(URL)
    assert refused.status_code == 402
    assert refused.json()["error"]["code"] == "entitlement_exceeded"
    assert refused.json()["error"]["entitlement"] == "feature:audit_log"
    assert the_entry(acme.tenant, "project.created")

    account = BillingAccount.objects.get(tenant=acme.tenant)
    account.plan = Plan.objects.get(code="pro")
    account.save(update_fields=["plan"])
    listed = client.get(URL)
    assert listed.status_code == 200
    assert "project.created" in [e["action"] for e in listed.json()["results"]]
