"""MFA in tests: codes of a TOTP secret (as an authenticator app computes them), enrolling a
member over the API and logging in with a second factor."""

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from allauth.mfa import app_settings
from allauth.mfa.totp.internal import auth as totp_auth
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from rest_framework.test import APIClient

from tests.factories import PASSWORD, Org, client_for

LOGIN = "/api/v1/auth/login/"
LOGIN_MFA = "/api/v1/auth/login/mfa/"
MFA = "/api/v1/auth/mfa/"


class TotpClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def totp_clock_stop(monkeypatch: pytest.MonkeyPatch) -> TotpClock:
    """allauth's TOTP time (and totp_code's), stopped 10 s into a step, so a test's codes
    and the server's time steps agree whatever the wall clock does between them."""
    clock = TotpClock(1_800_000_010.0)
    monkeypatch.setattr(totp_auth, "time", SimpleNamespace(time=clock.time))
    return clock


def totp_code(secret: str, step: int = 0) -> str:
    """The app's code `step` time steps from now, by allauth's clock (the totp_clock fixture
    stops it). The server accepts one step either way, each step once."""
    counter = int(totp_auth.time.time()) // app_settings.TOTP_PERIOD + step
    return format_hotp_value(hotp_value(secret, counter))


@dataclass
class Enrolled:
    secret: str
    recovery_codes: list[str]


def enroll(client: APIClient) -> Enrolled:
    """Sets up TOTP for the client's member over the API (begin, confirm with step -1's
    code, so steps 0 and 1 stay free for logins)."""
    begun = client.post(f"{MFA}totp/", format="json")
    assert begun.status_code == 201, begun.content
    secret = begun.json()["secret"]
    confirmed = client.post(f"{MFA}totp/confirm/", {"code": totp_code(secret, -1)}, format="json")
    assert confirmed.status_code == 200, confirmed.content
    return Enrolled(secret, confirmed.json()["recovery_codes"])


def login(client: APIClient, email: str, password: str = PASSWORD) -> Any:
    return client.post(LOGIN, {"email": email, "password": password}, format="json")


def challenge(org: Org) -> str:
    """A fresh login of the org's member: the 202's mfa_token."""
    answer = login(client_for(org.tenant), org.user.email)
    assert answer.status_code == 202, answer.content
    return str(answer.json()["mfa_token"])


def login_mfa(client: APIClient, token: str, code: str) -> Any:
    return client.post(LOGIN_MFA, {"mfa_token": token, "code": code}, format="json")


def logged_in_with_mfa(org: Org, code: str) -> APIClient:
    """A client of the org's member, logged in with the password then `code`."""
    client = client_for(org.tenant)
    answer = login_mfa(client, challenge(org), code)
    assert answer.status_code == 200, answer.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {answer.json()['access']}")
    return client
