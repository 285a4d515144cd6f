"""Password change (old password required) and reset by email (single use, no enumeration)."""

import re
import time

import pytest

from accounts.models import User
from tests.factories import PASSWORD
from tests.support.processes import body_text

NEW = "another-long-passphrase-42"
RESET = "/api/v1/auth/password/reset/"
CONFIRM = "/api/v1/auth/password/reset/confirm/"


def login(client, email: str, password: str):
    return client.post("/api/v1/auth/login/", {"email": email, "password": password}, format="json")


def test_change_needs_the_old_password_and_revokes_refresh_tokens(
    db, client_for, make_tenant, make_member
):
    tenant = make_tenant("acme")
    user = make_member(tenant)
    pair = login(client_for(tenant), user.email, PASSWORD).json()
    client = client_for(tenant)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")

    wrong = client.post(
        "/api/v1/auth/password/change/",
        {"old_password": "nope", "new_password1": NEW, "new_password2": NEW},
        format="json",
    )
    assert wrong.status_code == 400
    assert "old_password" in wrong.json()["error"]["fields"]

    weak = client.post(
        "/api/v1/auth/password/change/",
        {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
        format="json",
    )
    assert weak.status_code == 400
    assert "new_password2" in weak.json()["error"]["fields"]

    changed = client.post(
        "/api/v1/auth/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
        format="json",
    )
    assert changed.status_code == 200
    user.refresh_from_db()
    assert user.check_password(NEW)
    refresh = client_for(tenant).post(
        "/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json"
    )
    assert refresh.status_code == 401
    assert login(client_for(tenant), user.email, NEW).status_code == 200


def test_passwords_are_hashed_with_argon2_in_production_settings(settings, db):
    from django.contrib.auth.hashers import get_hasher

    assert "Argon2PasswordHasher" in settings.PASSWORD_HASHERS[1]
    assert get_hasher("argon2").algorithm == "argon2"
    user = User(email="h@example.test")
    settings.PASSWORD_HASHERS = settings.PASSWORD_HASHERS[1:]
    user.set_password("x" * 12)
    assert user.password.startswith("argon2$")


def reset_link(message) -> tuple[str, str]:
    match = re.search(r"/reset-password/([0-9a-z]+)/([0-9A-Za-z-]+)", body_text(message))
    assert match, body_text(message)
    return match.group(1), match.group(2)


def test_reset_email_arrives_and_its_link_works_once(mail, client_for, make_tenant, make_member):
    tenant = make_tenant("acme")
    user = make_member(tenant)

    response = client_for(tenant).post(RESET, {"email": user.email}, format="json")

    assert response.status_code == 200
    message = mail.wait_for(user.email)
    assert "http://acme.localhost/reset-password/" in body_text(message)
    uid, token = reset_link(message)
    body = {"uid": uid, "token": token, "new_password1": NEW, "new_password2": NEW}
    assert client_for(tenant).post(CONFIRM, body, format="json").status_code == 200
    user.refresh_from_db()
    assert user.check_password(NEW)
    again = client_for(tenant).post(
        CONFIRM, {**body, "new_password1": NEW + "x", "new_password2": NEW + "x"}, format="json"
    )
    assert again.status_code == 400
    assert "token" in again.json()["error"]["fields"]


@pytest.mark.parametrize("who", ["unknown", "member-elsewhere"])
def test_reset_answers_the_same_and_sends_nothing_for_non_members(
    mail, client_for, make_tenant, make_member, who
):
    acme, beta = make_tenant("acme"), make_tenant("beta")
    member = make_member(acme)
    email = "nobody@example.test" if who == "unknown" else make_member(beta).email

    answer = client_for(acme).post(RESET, {"email": email}, format="json")
    known = client_for(acme).post(RESET, {"email": member.email}, format="json")

    assert answer.status_code == known.status_code == 200
    assert answer.json() == known.json()
    mail.wait_for(member.email)  # the member's mail went out, so the worker has caught up
    time.sleep(0.3)
    assert mail.sent_to(email) == []


def test_reset_confirm_with_a_bad_token_is_refused(db, client_for, make_tenant, make_member):
    tenant = make_tenant("acme")
    make_member(tenant)
    body = {"uid": "zz", "token": "bad-token", "new_password1": NEW, "new_password2": NEW}
    response = client_for(tenant).post(CONFIRM, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_a_reset_link_works_only_on_the_organizations_host_that_sent_it(
    mail, client_for, make_tenant, make_member
):
    acme, beta = make_tenant("acme"), make_tenant("beta")
    user = make_member(acme)
    make_member(beta, user=user)  # a member of both: the link still only works on acme
    assert client_for(acme).post(RESET, {"email": user.email}, format="json").status_code == 200
    uid, token = reset_link(mail.wait_for(user.email))
    body = {"uid": uid, "token": token, "new_password1": NEW, "new_password2": NEW}
    invalid = {**body, "token": "bad-token"}

    on_beta = client_for(beta).post(CONFIRM, body, format="json")
    bad_on_beta = client_for(beta).post(CONFIRM, invalid, format="json")

    # The same answer as an invalid token: it does not say the link is good elsewhere.
    assert on_beta.status_code == bad_on_beta.status_code == 400
    assert on_beta.json()["error"]["fields"] == bad_on_beta.json()["error"]["fields"]
    assert on_beta.json()["error"]["code"] == bad_on_beta.json()["error"]["code"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert client_for(acme).post(CONFIRM, body, format="json").status_code == 200
    user.refresh_from_db()
    assert user.check_password(NEW)
