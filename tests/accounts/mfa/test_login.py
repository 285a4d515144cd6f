"""The login with a second factor: the password answers a challenge (202), the challenge and
a code answer the JWT pair. The challenge works once, on its own organization's host, until
it expires or sees too many wrong codes; a TOTP code works once, a recovery code once (also
for two requests at the same instant); wrong codes are throttled per account too."""

import threading
from datetime import timedelta

import pytest
from allauth.account.utils import user_pk_to_url_str
from django.db import connection
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from accounts.mfa.models import MfaChallenge
from accounts.services import password_reset_confirm
from accounts.tokens import TenantPasswordResetTokenGenerator
from tests.factories import PASSWORD, Org, client_for, make_invitation, make_member
from tests.support.http import assert_error, assert_no_store
from tests.support.mfa import challenge, enroll, login, login_mfa, totp_code

pytestmark = pytest.mark.usefixtures("totp_clock")
REFRESH = "/api/v1/auth/token/refresh/"


def _amr(access: str) -> list[str]:
    return list(AccessToken(access)["amr"])  # type: ignore[arg-type]


def test_without_a_factor_the_password_gives_the_pair(acme):
    answer = login(client_for(acme.tenant), acme.user.email)
    assert answer.status_code == 200
    assert _amr(answer.json()["access"]) == ["pwd"]


def test_with_a_factor_the_password_gives_a_challenge_then_the_code_the_pair(acme):
    enrolled = enroll(acme.client)
    first = login(client_for(acme.tenant), acme.user.email)
    assert first.status_code == 202
    assert_no_store(first)
    body = first.json()
    assert set(body) == {"mfa_required", "mfa_token", "expires_in", "methods", "types", "webauthn"}
    assert body["types"] == ["totp", "recovery_codes"]
    assert body["webauthn"] is None  # no security key (tests/accounts/mfa/test_webauthn.py)
    assert body["mfa_required"] is True
    assert body["expires_in"] == 300
    assert "access" not in body
    assert "refresh" not in body
    # Only the token's hash is stored.
    assert not MfaChallenge.objects.filter(token_hash=body["mfa_token"]).exists()

    second = login_mfa(client_for(acme.tenant), body["mfa_token"], totp_code(enrolled.secret))
    assert second.status_code == 200
    assert_no_store(second)
    pair = second.json()
    assert set(pair) >= {"access", "refresh", "user"}
    assert _amr(pair["access"]) == ["pwd", "otp", "mfa"]
    assert (
        client_for(acme.tenant)
        .get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
        .status_code
        == 200
    )


def test_a_wrong_password_is_still_the_one_401(acme):
    enroll(acme.client)
    assert_error(
        login(client_for(acme.tenant), acme.user.email, "wrong"), 401, "invalid_credentials"
    )


def test_refresh_keeps_how_the_login_was_made(acme):
    enrolled = enroll(acme.client)
    pair = login_mfa(client_for(acme.tenant), challenge(acme), totp_code(enrolled.secret)).json()
    refreshed = client_for(acme.tenant).post(REFRESH, {"refresh": pair["refresh"]}, format="json")
    assert refreshed.status_code == 200
    assert _amr(refreshed.json()["access"]) == ["pwd", "otp", "mfa"]
    # A password-only pair stays one: refreshing is no upgrade.
    plain = login(client_for(acme.tenant), make_member(acme.tenant).email).json()
    again = client_for(acme.tenant).post(REFRESH, {"refresh": plain["refresh"]}, format="json")
    assert _amr(again.json()["access"]) == ["pwd"]


def test_a_challenge_works_once(acme):
    enrolled = enroll(acme.client)
    token = challenge(acme)
    assert login_mfa(client_for(acme.tenant), token, totp_code(enrolled.secret)).status_code == 200
    again = login_mfa(client_for(acme.tenant), token, totp_code(enrolled.secret, 1))
    assert_error(again, 401, "mfa_challenge_invalid")


def test_a_challenge_works_only_on_the_host_it_was_issued_on(acme, beta):
    enrolled = enroll(acme.client)
    make_member(beta.tenant, user=acme.user)  # a member of both
    token = challenge(acme)
    on_beta = login_mfa(client_for(beta.tenant), token, totp_code(enrolled.secret))
    assert_error(on_beta, 401, "mfa_challenge_invalid")
    unknown = login_mfa(client_for(beta.tenant), "not-a-challenge", totp_code(enrolled.secret))
    assert on_beta.json()["error"]["message"] == unknown.json()["error"]["message"]
    # The code was not spent there, nor the challenge: acme's host takes both.
    on_acme = login_mfa(client_for(acme.tenant), token, totp_code(enrolled.secret))
    assert on_acme.status_code == 200
    assert AccessToken(on_acme.json()["access"])["tid"] == acme.tenant.pk


def test_an_expired_challenge_is_refused(acme):
    enrolled = enroll(acme.client)
    token = challenge(acme)
    MfaChallenge.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(
        login_mfa(client_for(acme.tenant), token, totp_code(enrolled.secret)),
        401,
        "mfa_challenge_invalid",
    )


def test_a_totp_code_replayed_within_its_window_is_refused(acme):
    enrolled = enroll(acme.client)
    code = totp_code(enrolled.secret)
    assert login_mfa(client_for(acme.tenant), challenge(acme), code).status_code == 200
    replay = login_mfa(client_for(acme.tenant), challenge(acme), code)
    error = assert_error(replay, 401, "mfa_code_reused")
    assert "code" not in error.get("fields", {}) or error["fields"]
    # So is the code of an earlier step; the next step's works.
    earlier = login_mfa(client_for(acme.tenant), challenge(acme), totp_code(enrolled.secret, -1))
    assert_error(earlier, 401, "mfa_code_reused")
    assert (
        login_mfa(
            client_for(acme.tenant), challenge(acme), totp_code(enrolled.secret, 1)
        ).status_code
        == 200
    )


def test_a_recovery_code_works_once(acme):
    enrolled = enroll(acme.client)
    code = enrolled.recovery_codes[3]
    used = login_mfa(client_for(acme.tenant), challenge(acme), code)
    assert used.status_code == 200
    assert _amr(used.json()["access"]) == ["pwd", "rc", "mfa"]
    assert_error(login_mfa(client_for(acme.tenant), challenge(acme), code), 401, "mfa_code_invalid")
    assert acme.client.get("/api/v1/auth/mfa/").json()["recovery_codes"]["unused"] == 9


@pytest.mark.parametrize(
    "body", [{}, {"mfa_token": "x"}, {"code": "1"}, {"mfa_token": 1, "code": 2}]
)
def test_malformed_second_steps_are_400(acme, body):
    answer = client_for(acme.tenant).post("/api/v1/auth/login/mfa/", body, format="json")
    assert_error(answer, 400)


def test_wrong_codes_kill_the_challenge_after_five(acme):
    enrolled = enroll(acme.client)
    token = challenge(acme)
    for _ in range(5):
        assert_error(login_mfa(client_for(acme.tenant), token, "000000"), 401, "mfa_code_invalid")
    right = login_mfa(client_for(acme.tenant), token, totp_code(enrolled.secret))
    assert_error(right, 401, "mfa_challenge_invalid")
    # A new login starts a new challenge.
    fresh = login_mfa(client_for(acme.tenant), challenge(acme), totp_code(enrolled.secret))
    assert fresh.status_code == 200


def test_wrong_codes_are_throttled_per_account_across_challenges(acme, loose_rates):
    enrolled = enroll(acme.client)
    for _ in range(2):
        token = challenge(acme)
        for _ in range(5):
            login_mfa(client_for(acme.tenant), token, "00000000")
    locked = login_mfa(client_for(acme.tenant), challenge(acme), totp_code(enrolled.secret))
    assert_error(locked, 429, "mfa_locked")
    assert int(locked["Retry-After"]) > 0


def test_the_second_step_is_throttled_per_ip(acme, tight_rates):
    tight_rates["login_mfa_ip"] = "3/min"
    for _ in range(3):
        login_mfa(client_for(acme.tenant), "whatever", "123456")
    assert_error(login_mfa(client_for(acme.tenant), "whatever", "123456"), 429)


def test_password_reset_keeps_the_factor(acme):
    enroll(acme.client)
    generator = TenantPasswordResetTokenGenerator(tenant_id=acme.tenant.pk)
    password_reset_confirm(
        tenant=acme.tenant,
        uid=user_pk_to_url_str(acme.user),
        token=generator.make_token(acme.user),
        new_password1="a-brand-new-password-2027",
        new_password2="a-brand-new-password-2027",
    )
    again = login(client_for(acme.tenant), acme.user.email, "a-brand-new-password-2027")
    assert again.status_code == 202


def _at_once(org: Org, tokens: list[str], code: str) -> list[int]:
    results: list[int] = []
    barrier = threading.Barrier(len(tokens))

    def use(token: str) -> None:
        client = client_for(org.tenant)
        barrier.wait()
        results.append(login_mfa(client, token, code).status_code)
        connection.close()

    threads = [threading.Thread(target=use, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(results)


def test_one_recovery_code_sent_twice_at_once_logs_in_once(committed, make_org, totp_clock):
    org = make_org("acme")
    enrolled = enroll(org.client)
    tokens = [challenge(org), challenge(org)]
    assert _at_once(org, tokens, enrolled.recovery_codes[0]) == [200, 401]


def test_one_totp_code_sent_twice_at_once_logs_in_once(committed, make_org, totp_clock):
    org = make_org("acme")
    enrolled = enroll(org.client)
    tokens = [challenge(org), challenge(org)]
    assert _at_once(org, tokens, totp_code(enrolled.secret)) == [200, 401]


def test_one_challenge_sent_twice_at_once_logs_in_once(committed, make_org, totp_clock):
    org = make_org("acme")
    enrolled = enroll(org.client)
    token = challenge(org)
    codes = [totp_code(enrolled.secret), enrolled.recovery_codes[0]]
    results: list[int] = []
    barrier = threading.Barrier(2)

    def use(code: str) -> None:
        client = client_for(org.tenant)
        barrier.wait()
        results.append(login_mfa(client, token, code).status_code)
        connection.close()

    threads = [threading.Thread(target=use, args=(code,)) for code in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 401]


def test_accepting_an_invitation_logs_in_only_without_a_factor(acme, beta):
    enroll(beta.client)  # beta's owner has a factor, and is invited to acme
    token = make_invitation(acme.tenant, acme.user, beta.user.email)
    accepted = client_for(acme.tenant).post(
        f"/api/v1/invitations/{token}/accept/", {"password": PASSWORD}, format="json"
    )
    assert accepted.status_code == 201
    assert "access" not in accepted.json()
    assert "refresh" not in accepted.json()
    assert login(client_for(acme.tenant), beta.user.email).status_code == 202
