"""The login, refresh and password rules called directly (accounts.services), without HTTP,
against the real database. tests/accounts/test_jwt.py and test_passwords.py check the same
rules through the endpoints."""

import re
import threading
import time
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.db import connection

import accounts.services as services
from accounts.models import User
from accounts.services import (
    login_tokens_issue,
    membership_remove,
    password_change,
    password_reset_confirm,
    password_reset_request,
    token_pair_refresh,
)
from saas.errors import InvalidInput, NotAuthenticated
from tests.factories import PASSWORD, make_user
from tests.support.processes import body_text

NEW = "another-long-passphrase-42"
PROJECTS = "/api/v1/projects/"


def claims(token: Any) -> dict[str, Any]:
    return dict(jwt.decode(str(token), settings.JWT_SIGNING_KEY, algorithms=["HS256"]))


def refused(call: Any, **kwargs: Any) -> NotAuthenticated:
    with pytest.raises(NotAuthenticated) as caught:
        call(**kwargs)
    return caught.value


def invalid(call: Any, **kwargs: Any) -> dict[str, Any]:
    """The fields of the 400 the call raises."""
    with pytest.raises(InvalidInput) as caught:
        call(**kwargs)
    assert (caught.value.code, caught.value.message) == ("invalid", "Invalid input.")
    return dict(caught.value.extra["fields"])


def shape(error: NotAuthenticated) -> tuple:
    return type(error), error.status_code, error.code, error.message, str(error.extra)


# ---- login --------------------------------------------------------------------------------


def test_a_member_gets_a_pair_bound_to_the_organization_logged_in_on(
    make_tenant, make_member, client_for
):
    acme, beta = make_tenant("acme"), make_tenant("beta")
    user = make_member(acme, role="admin")
    make_member(beta, role="viewer", user=user)  # a member of both: the pair opens acme only
    before = User.objects.get(pk=user.pk).last_login

    logged_in, refresh = login_tokens_issue(
        tenant=acme, email=user.email.upper(), password=PASSWORD
    )

    assert logged_in.pk == user.pk
    for token in (refresh, refresh.access_token):
        assert claims(token)["sub"] == str(user.pk)
        assert claims(token)["tid"] == acme.pk
        assert claims(token)["role"] == "admin"
    access = str(refresh.access_token)
    on_acme = client_for(acme)
    on_acme.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert on_acme.get(PROJECTS).status_code == 200
    on_beta = client_for(beta)
    on_beta.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert on_beta.get(PROJECTS).status_code == 401
    # Reset links hash last_login: logging in must not spend one sent before.
    assert User.objects.get(pk=user.pk).last_login == before


def test_every_login_failure_is_the_same_error(make_tenant, make_member):
    acme, beta = make_tenant("acme"), make_tenant("beta")
    member = make_member(acme)
    inactive = make_member(acme)
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    of_beta_only = make_member(beta)
    of_none = make_user()

    attempts = {
        "wrong password": (member.email, "not-the-password"),
        "unknown email": ("nobody@example.test", PASSWORD),
        "inactive user": (inactive.email, PASSWORD),
        "member of another organization": (of_beta_only.email, PASSWORD),
        "member of no organization": (of_none.email, PASSWORD),
    }
    errors = {
        name: refused(login_tokens_issue, tenant=acme, email=email, password=password)
        for name, (email, password) in attempts.items()
    }

    shapes = {name: shape(error) for name, error in errors.items()}
    assert len(set(shapes.values())) == 1, shapes
    assert errors["wrong password"].code == "invalid_credentials"
    assert errors["wrong password"].status_code == 401
    # The other organization's member logs in on their own host.
    _, refresh = login_tokens_issue(tenant=beta, email=of_beta_only.email, password=PASSWORD)
    assert claims(refresh)["tid"] == beta.pk


# ---- refresh ------------------------------------------------------------------------------


def test_refresh_rotates_and_the_spent_token_is_refused(make_tenant, make_member):
    acme = make_tenant("acme")
    user = make_member(acme)
    _, first = login_tokens_issue(tenant=acme, email=user.email, password=PASSWORD)

    pair = token_pair_refresh(tenant=acme, raw=str(first))

    assert set(pair) == {"access", "refresh"}
    assert pair["refresh"] != str(first)
    assert claims(pair["refresh"])["jti"] != claims(first)["jti"]
    for token in pair.values():
        assert (claims(token)["sub"], claims(token)["tid"]) == (str(user.pk), acme.pk)
    reused = refused(token_pair_refresh, tenant=acme, raw=str(first))
    assert reused.code == "token_not_valid"
    assert reused.status_code == 401
    assert token_pair_refresh(tenant=acme, raw=pair["refresh"])["refresh"] != pair["refresh"]


def test_concurrent_refreshes_with_one_token_rotate_it_once(committed, make_tenant, make_member):
    acme = make_tenant("acme")
    user = make_member(acme)
    _, refresh = login_tokens_issue(tenant=acme, email=user.email, password=PASSWORD)
    outcomes: list[str] = []

    def use() -> None:
        try:
            token_pair_refresh(tenant=acme, raw=str(refresh))
            outcomes.append("rotated")
        except NotAuthenticated as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["rotated"] + ["token_not_valid"] * 3


def test_refresh_on_another_organization_is_refused_and_spends_nothing(make_tenant, make_member):
    acme, beta = make_tenant("acme"), make_tenant("beta")
    user = make_member(acme)
    make_member(beta, user=user)
    _, of_acme = login_tokens_issue(tenant=acme, email=user.email, password=PASSWORD)

    error = refused(token_pair_refresh, tenant=beta, raw=str(of_acme))

    assert (error.code, error.message) == (
        "token_not_valid",
        "Token is not valid for this organization.",
    )
    assert claims(token_pair_refresh(tenant=acme, raw=str(of_acme))["access"])["tid"] == acme.pk


def test_refresh_after_the_membership_ends_is_refused_there_only(make_tenant, make_member):
    acme, beta = make_tenant("acme"), make_tenant("beta")
    user = make_member(acme)
    make_member(beta, user=user)
    _, of_acme = login_tokens_issue(tenant=acme, email=user.email, password=PASSWORD)
    _, of_beta = login_tokens_issue(tenant=beta, email=user.email, password=PASSWORD)

    membership_remove(tenant=acme, user_id=user.pk)

    error = refused(token_pair_refresh, tenant=acme, raw=str(of_acme))
    assert error.code == "token_not_valid"
    assert error.message == "This account no longer has access to this organization."
    assert claims(token_pair_refresh(tenant=beta, raw=str(of_beta))["access"])["tid"] == beta.pk


def test_garbage_is_not_a_refresh_token(make_tenant):
    error = refused(token_pair_refresh, tenant=make_tenant("acme"), raw="not-a-token")
    assert (error.code, error.status_code) == ("token_not_valid", 401)


# ---- password change ----------------------------------------------------------------------


def test_a_password_change_needs_the_old_password_and_revokes_every_refresh_token(
    make_tenant, make_member
):
    acme, beta = make_tenant("acme"), make_tenant("beta")
    user = make_member(acme)
    make_member(beta, user=user)
    _, of_acme = login_tokens_issue(tenant=acme, email=user.email, password=PASSWORD)
    _, of_beta = login_tokens_issue(tenant=beta, email=user.email, password=PASSWORD)
    change = {"user_id": user.pk, "new_password1": NEW, "new_password2": NEW}

    wrong = invalid(password_change, old_password="not-the-password", **change)
    assert list(wrong) == ["old_password"]
    weak = invalid(
        password_change,
        user_id=user.pk,
        old_password=PASSWORD,
        new_password1="12345678",
        new_password2="12345678",
    )
    assert list(weak) == ["new_password2"]
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)
    # Refused changes revoke nothing.
    rotated = token_pair_refresh(tenant=acme, raw=str(of_acme))["refresh"]

    password_change(old_password=PASSWORD, **change)

    assert User.objects.get(pk=user.pk).check_password(NEW)
    for tenant, raw in ((acme, rotated), (beta, str(of_beta))):
        assert refused(token_pair_refresh, tenant=tenant, raw=raw).code == "token_not_valid"
    refused(login_tokens_issue, tenant=acme, email=user.email, password=PASSWORD)
    assert login_tokens_issue(tenant=beta, email=user.email, password=NEW)[0].pk == user.pk


# ---- password reset -----------------------------------------------------------------------


@pytest.fixture
def reset_mails(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What the reset requests queue with email_send_later, captured."""
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(services, "email_send_later", lambda **kwargs: sent.append(kwargs))
    return sent


def link_of(mail: dict[str, Any]) -> tuple[str, str]:
    match = re.search(r"/reset-password/([0-9a-z]+)/([0-9A-Za-z-]+)$", mail["context"]["url"])
    assert match, mail
    return match.group(1), match.group(2)


def test_a_reset_is_mailed_to_members_of_the_organization_only(
    make_tenant, make_member, reset_mails
):
    acme, beta = make_tenant("acme"), make_tenant("beta")
    member = make_member(acme)
    of_beta_only = make_member(beta)
    inactive = make_member(acme)
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    asked = [member.email.upper(), of_beta_only.email, inactive.email, "nobody@example.test"]

    answers = [
        password_reset_request(tenant=acme, email=email, host="acme.localhost") for email in asked
    ]

    assert answers == [None] * len(asked)  # nothing to tell the caller apart
    assert [mail["to"] for mail in reset_mails] == [member.email]
    mail = reset_mails[0]
    assert mail["template"] == "password_reset"
    assert mail["context"]["organization"] == "Acme"
    assert mail["context"]["url"].startswith("http://acme.localhost/reset-password/")
    password_reset_request(tenant=beta, email=of_beta_only.email, host="beta.localhost")
    assert [mail["to"] for mail in reset_mails] == [member.email, of_beta_only.email]


def test_a_reset_link_works_once_and_on_its_organization_only(
    make_tenant, make_member, reset_mails
):
    acme, beta = make_tenant("acme"), make_tenant("beta")
    user = make_member(acme)
    make_member(beta, user=user)  # a member of both: beta's link does not work on acme
    _, of_acme = login_tokens_issue(tenant=acme, email=user.email, password=PASSWORD)
    password_reset_request(tenant=beta, email=user.email, host="beta.localhost")
    uid, token = link_of(reset_mails[0])
    confirm = {"uid": uid, "token": token, "new_password1": NEW, "new_password2": NEW}

    on_acme = invalid(password_reset_confirm, tenant=acme, **confirm)
    bad_token = invalid(password_reset_confirm, tenant=acme, **{**confirm, "token": "bad-token"})
    bad_uid = invalid(password_reset_confirm, tenant=beta, **{**confirm, "uid": "zz-"})

    assert on_acme == bad_token == {"token": ["Invalid value"]}
    assert bad_uid == {"uid": ["Invalid value"]}
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)
    weak = {**confirm, "new_password1": "12345678", "new_password2": "12345678"}
    assert list(invalid(password_reset_confirm, tenant=beta, **weak)) == ["new_password2"]

    password_reset_confirm(tenant=beta, **confirm)

    assert User.objects.get(pk=user.pk).check_password(NEW)
    assert refused(token_pair_refresh, tenant=acme, raw=str(of_acme)).code == "token_not_valid"
    again = {**confirm, "new_password1": NEW + "x", "new_password2": NEW + "x"}
    assert invalid(password_reset_confirm, tenant=beta, **again) == {"token": ["Invalid value"]}


def test_a_reset_mail_goes_out_through_the_queue(mail, make_tenant, make_member):
    """The real path (outbox, Celery, SMTP), as tests/accounts/test_passwords.py checks it."""
    acme, beta = make_tenant("acme"), make_tenant("beta")
    member = make_member(acme)
    of_beta_only = make_member(beta)

    password_reset_request(tenant=acme, email=of_beta_only.email, host="acme.localhost")
    password_reset_request(tenant=acme, email=member.email, host="acme.localhost")

    assert "http://acme.localhost/reset-password/" in body_text(mail.wait_for(member.email))
    time.sleep(0.3)  # the member's mail is out, so the worker has caught up
    assert mail.sent_to(of_beta_only.email) == []
