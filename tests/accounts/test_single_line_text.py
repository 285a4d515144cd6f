"""Names are one line of text: a person's name and an organization's end up in email headers
(an invitation's subject is "<inviter> invited you to <organization>"), where a line break
made every invitation that person sent fail in the worker. Control characters are refused
with a 400 naming the field, wherever such a name is written; nothing is stored."""

import pytest
from django.conf import settings

from accounts.models import User
from billing.models import Plan
from tenants.models import Tenant
from tests.factories import PASSWORD, make_invitation

# A CR/LF pair (header injection), each alone, a NUL, an escape, DEL, a C1 control (NEL) and
# the Unicode line and paragraph separators.
CONTROL = ["\r\n", "\n", "\r", "\x00", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"]
ACCEPTED = "Zoë O'Brien-Łukasiewicz 李 (ops)"


def _refused(response, field: str) -> None:
    assert response.status_code == 400, (response.status_code, response.content)
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"], error


@pytest.mark.parametrize("char", CONTROL, ids=[repr(c) for c in CONTROL])
def test_profile_name_with_a_control_character_is_refused(
    db, client_for, make_tenant, make_member, char
):
    tenant = make_tenant("acme")
    user = make_member(tenant)
    client = client_for(tenant, user)

    _refused(
        client.patch(
            "/api/v1/auth/user/", {"full_name": f"Ada{char}Bcc: x@evil.test"}, format="json"
        ),
        "full_name",
    )

    user.refresh_from_db()
    assert user.full_name == ""
    ok = client.patch("/api/v1/auth/user/", {"full_name": ACCEPTED}, format="json")
    assert ok.status_code == 200, ok.json()
    user.refresh_from_db()
    assert user.full_name == ACCEPTED


def test_invitation_accept_refuses_a_name_with_control_characters(
    db, client_for, make_tenant, make_member
):
    tenant = make_tenant("acme")
    token = make_invitation(tenant, make_member(tenant, role="admin"), "new@example.test")
    url = f"/api/v1/invitations/{token}/accept/"

    for char in CONTROL:
        body = {"password": "a-fresh-long-passphrase", "full_name": f"New{char}Person"}
        _refused(client_for(tenant).post(url, body, format="json"), "full_name")
    assert not User.objects.filter(email="new@example.test").exists()

    body = {"password": "a-fresh-long-passphrase", "full_name": ACCEPTED}
    joined = client_for(tenant).post(url, body, format="json")
    assert joined.status_code == 201, joined.json()
    assert User.objects.get(email="new@example.test").full_name == ACCEPTED


def test_signup_refuses_an_organization_name_with_control_characters(db, client_for):
    for index, char in enumerate(CONTROL):
        body = {
            "name": f"Acme{char}Bcc: x@evil.test",
            "slug": f"acme-{index}",
            "email": f"owner{index}@acme.test",
            "password": PASSWORD,
        }
        _refused(client_for(None).post("/api/v1/signup/", body, format="json"), "name")
    assert not Tenant.objects.filter(slug__startswith="acme-").exists()


def test_organization_rename_refuses_control_characters(db, client_for, make_tenant, make_member):
    tenant = make_tenant("acme")
    client = client_for(tenant, make_member(tenant, role="owner"))

    for char in CONTROL:
        _refused(
            client.patch("/api/v1/organization/", {"name": f"Acme{char}Inc"}, format="json"), "name"
        )
    tenant.refresh_from_db()
    assert tenant.name == "Acme"
    ok = client.patch("/api/v1/organization/", {"name": "Acme & Söhne"}, format="json")
    assert ok.status_code == 200, ok.json()


def test_oauth_application_names_refuse_control_characters(
    db, client_for, make_tenant, make_member
):
    Plan.objects.filter(code=settings.BILLING_SIGNUP_PLAN).update(features=["api"])
    tenant = make_tenant("acme")
    client = client_for(tenant, make_member(tenant, role="admin"))
    url = "/api/v1/oauth/applications/"
    body = {"name": "Nightly export", "grant_type": "client-credentials"}
    created = client.post(url, body, format="json")
    assert created.status_code == 201, created.json()
    detail = f"{url}{created.json()['id']}/"

    for char in CONTROL:
        _refused(client.post(url, {**body, "name": f"Export{char}x"}, format="json"), "name")
        _refused(client.patch(detail, {"name": f"Export{char}x"}, format="json"), "name")
    assert client.get(detail).json()["name"] == "Nightly export"
