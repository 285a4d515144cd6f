"""Invitations: emailed single-use expiring links that create or link accounts."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Invitation, Membership, User
from tests.factories import PASSWORD, make_invitation
from tests.support.processes import body_html, body_text

NEW_PASSWORD = "a-fresh-long-passphrase"


def invite(client, email: str, role: str = "member"):
    return client.post("/api/v1/invitations/", {"email": email, "role": role}, format="json")


def token_from(message) -> str:
    match = re.search(r"/invitations/([A-Za-z0-9_-]+)", body_text(message))
    assert match, body_text(message)
    return match.group(1)


def accept(client, token: str, password: str = NEW_PASSWORD, **extra):
    return client.post(
        f"/api/v1/invitations/{token}/accept/", {"password": password, **extra}, format="json"
    )


def test_invitation_email_arrives_and_accepting_creates_the_account(
    mail, client_for, make_tenant, make_member
):
    tenant = make_tenant("acme")
    admin = make_member(tenant, role="admin")

    created = invite(client_for(tenant, admin), "New.Person@Example.test", role="viewer")

    assert created.status_code == 201, created.json()
    assert created.json()["status"] == "pending"
    message = mail.wait_for("new.person@example.test")
    assert "Acme" in message["Subject"]
    token = token_from(message)
    assert f"http://acme.localhost/invitations/{token}" in body_text(message)
    assert f'href="http://acme.localhost/invitations/{token}"' in body_html(message)
    assert token not in Invitation.objects.get().token_hash  # only a hash is stored

    joined = accept(client_for(tenant), token, full_name="New Person")

    assert joined.status_code == 201, joined.json()
    assert joined.json()["role"] == "viewer"
    user = User.objects.get(email="new.person@example.test")
    assert user.check_password(NEW_PASSWORD)
    assert Membership.objects.get(user=user, tenant=tenant).role == "viewer"
    # The response logs the new member in on this tenant.
    client = client_for(tenant)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {joined.json()['access']}")
    assert client.get("/api/v1/projects/").status_code == 200


def test_existing_user_joins_with_their_own_password(db, client_for, make_tenant, make_member):
    acme, beta = make_tenant("acme"), make_tenant("beta")
    existing = make_member(beta)
    invitation_token = make_invitation(acme, make_member(acme, role="admin"), existing.email)

    wrong = accept(client_for(acme), invitation_token, password="not-their-password")
    assert wrong.status_code == 401
    assert not Membership.objects.filter(user=existing, tenant=acme).exists()

    joined = accept(client_for(acme), invitation_token, password=PASSWORD)
    assert joined.status_code == 201
    assert Membership.objects.filter(user=existing, tenant=acme).exists()
    existing.refresh_from_db()
    assert existing.check_password(PASSWORD)  # the password was not replaced


def test_an_invitation_works_once(db, client_for, make_tenant, make_member):
    tenant = make_tenant("acme")
    token = make_invitation(tenant, make_member(tenant, role="admin"), "once@example.test")
    assert accept(client_for(tenant), token).status_code == 201
    again = accept(client_for(tenant), token)
    assert again.status_code == 410
    assert again.json()["error"]["code"] == "invitation_used"


def test_an_expired_invitation_is_refused(db, client_for, make_tenant, make_member):
    tenant = make_tenant("acme")
    token = make_invitation(tenant, make_member(tenant, role="admin"), "late@example.test")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = accept(client_for(tenant), token)
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "invitation_expired"
    assert not User.objects.filter(email="late@example.test").exists()


def test_another_tenants_invitation_is_not_found(db, client_for, make_tenant, make_member):
    acme, beta = make_tenant("acme"), make_tenant("beta")
    token = make_invitation(acme, make_member(acme, role="admin"), "x@example.test")
    response = accept(client_for(beta), token)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "invitation_not_found"
    assert accept(client_for(None), token).status_code == 404
    assert accept(client_for(acme), "not-a-token").status_code == 404


def test_a_revoked_invitation_is_refused_and_listed_no_more(
    db, client_for, make_tenant, make_member
):
    tenant = make_tenant("acme")
    admin = make_member(tenant, role="admin")
    token = make_invitation(tenant, admin, "gone@example.test")
    client = client_for(tenant, admin)
    [pending] = client.get("/api/v1/invitations/").json()["results"]

    assert client.delete(f"/api/v1/invitations/{pending['id']}/").status_code == 204
    assert client.get("/api/v1/invitations/").json()["results"] == []
    assert accept(client_for(tenant), token).json()["error"]["code"] == "invitation_revoked"
    assert client.delete(f"/api/v1/invitations/{pending['id']}/").status_code == 409


def test_reinviting_replaces_the_pending_invitation(db, client_for, make_tenant, make_member):
    tenant = make_tenant("acme")
    admin = make_member(tenant, role="admin")
    first = make_invitation(tenant, admin, "twice@example.test")
    second = make_invitation(tenant, admin, "twice@example.test", role="viewer")
    assert accept(client_for(tenant), first).status_code == 410
    assert accept(client_for(tenant), second).json()["role"] == "viewer"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"email": "not-an-email"}, 400, "invalid"),
        ({"email": "x@example.test", "role": "owner"}, 400, "invalid"),
        ({"email": "x@example.test", "is_staff": True}, 400, "invalid"),
        ({"role": "member"}, 400, "invalid"),
    ],
)
def test_bad_invitations_are_refused(db, client_for, make_tenant, make_member, body, status, code):
    tenant = make_tenant("acme")
    response = client_for(tenant, make_member(tenant, role="admin")).post(
        "/api/v1/invitations/", body, format="json"
    )
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert Invitation.objects.count() == 0


def test_inviting_a_member_is_a_conflict(db, client_for, make_tenant, make_member):
    tenant = make_tenant("acme")
    member = make_member(tenant)
    response = invite(client_for(tenant, make_member(tenant, role="admin")), member.email.upper())
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_member"


def test_an_admin_cannot_invite_an_owner_and_a_weak_password_is_refused(
    db, client_for, make_tenant, make_member
):
    tenant = make_tenant("acme")
    token = make_invitation(tenant, make_member(tenant, role="admin"), "weak@example.test")
    response = accept(client_for(tenant), token, password="123")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "weak_password"
    assert Invitation.objects.get().status == "pending"  # nothing was spent
    assert not User.objects.filter(email="weak@example.test").exists()


def test_invitations_of_another_tenant_cannot_be_revoked(db, client_for, make_tenant, make_member):
    acme, beta = make_tenant("acme"), make_tenant("beta")
    make_invitation(acme, make_member(acme, role="admin"), "a@example.test")
    invitation = Invitation.objects.get()
    response = client_for(beta, make_member(beta, role="admin")).delete(
        f"/api/v1/invitations/{invitation.pk}/"
    )
    assert response.status_code == 404
    assert Invitation.objects.get().status == "pending"
