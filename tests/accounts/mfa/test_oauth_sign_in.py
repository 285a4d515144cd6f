"""The OAuth2 sign-in page (/o/login/, before an application's consent) asks an account with
a second factor for it too: the password alone never lets an application act for it."""

from typing import Any

import pytest
from django.test import Client

from tests.factories import PASSWORD
from tests.support.mfa import enroll, totp_code
from tests.support.oauth import PUBLIC

pytestmark = pytest.mark.usefixtures("totp_clock")


def _sign_in(**extra: str) -> tuple[Client, Any]:
    browser = Client(HTTP_HOST=PUBLIC)
    return browser, browser.post("/o/login/", {"password": PASSWORD, "next": "/o/login/", **extra})


def test_the_password_alone_does_not_sign_in_an_account_with_a_factor(acme):
    enrolled = enroll(acme.client)
    browser, refused = _sign_in(username=acme.user.email)
    assert refused.status_code == 200
    assert b"authenticator app" in refused.content
    assert "_auth_user_id" not in browser.session
    _, wrong = _sign_in(username=acme.user.email, code="000000")
    assert wrong.status_code == 200
    browser, signed_in = _sign_in(username=acme.user.email, code=totp_code(enrolled.secret))
    assert signed_in.status_code == 302
    assert browser.session["_auth_user_id"] == str(acme.user.pk)
    # The code is spent there as on the API.
    _, replay = _sign_in(username=acme.user.email, code=totp_code(enrolled.secret))
    assert replay.status_code == 200


def test_a_recovery_code_signs_in_once(acme):
    enrolled = enroll(acme.client)
    _, first = _sign_in(username=acme.user.email, code=enrolled.recovery_codes[0])
    assert first.status_code == 302
    _, again = _sign_in(username=acme.user.email, code=enrolled.recovery_codes[0])
    assert again.status_code == 200


def test_an_account_without_a_factor_signs_in_with_the_password(acme):
    _, signed_in = _sign_in(username=acme.user.email)
    assert signed_in.status_code == 302
