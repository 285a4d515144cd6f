"""Setting up and removing a second factor over the API: TOTP (begin, confirm, remove),
recovery codes (made with the first factor, shown once, regenerated), the person's own login
only, secrets encrypted at rest."""

import threading

import pytest
from allauth.mfa.models import Authenticator
from cryptography.fernet import Fernet
from django.db import connection

from accounts.mfa.adapter import MfaAdapter
from saas.audit.models import AuditEntry
from saas.observability.logging import redact
from tests.factories import client_for
from tests.support.http import access_token, assert_error, assert_no_store
from tests.support.mfa import MFA, challenge, enroll, login, login_mfa, totp_code
from tests.support.oauth import client_credentials_token

pytestmark = pytest.mark.usefixtures("totp_clock")


def test_status_before_and_after_setting_up_totp(acme):
    before = acme.client.get(MFA)
    assert before.status_code == 200
    assert before.json() == {
        "enrolled": False,
        "totp": None,
        "recovery_codes": None,
        "required_by_policy": False,
        "logged_in_with_mfa": False,
    }
    enroll(acme.client)
    after = acme.client.get(MFA).json()
    assert after["enrolled"] is True
    assert after["totp"]["created_at"]
    assert after["recovery_codes"] == {"total": 10, "unused": 10}
    assert "secret" not in str(after)


def test_begin_shows_the_secret_once_and_confirm_activates_it(acme):
    begun = acme.client.post(f"{MFA}totp/", format="json")
    assert begun.status_code == 201
    assert_no_store(begun)
    body = begun.json()
    assert set(body) == {"secret", "otpauth_uri", "expires_in"}
    assert body["otpauth_uri"].startswith("otpauth://totp/")
    assert f"secret={body['secret']}" in body["otpauth_uri"]
    assert not Authenticator.objects.filter(user=acme.user).exists()  # nothing active yet

    confirmed = acme.client.post(
        f"{MFA}totp/confirm/", {"code": totp_code(body["secret"])}, format="json"
    )
    assert confirmed.status_code == 200
    assert_no_store(confirmed)
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert Authenticator.objects.filter(user=acme.user, type="totp").exists()
    # Never shown again: not by the status, not by beginning again.
    assert not set(codes) & set(str(acme.client.get(MFA).json()))
    assert_error(acme.client.post(f"{MFA}totp/", format="json"), 409, "mfa_already_enrolled")


def test_a_wrong_code_activates_nothing(acme):
    secret = acme.client.post(f"{MFA}totp/", format="json").json()["secret"]
    wrong = str((int(totp_code(secret)) + 1) % 1_000_000).zfill(6)
    refused = acme.client.post(f"{MFA}totp/confirm/", {"code": wrong}, format="json")
    error = assert_error(refused, 400, "mfa_code_invalid")
    assert "code" in error["fields"]
    assert not Authenticator.objects.filter(user=acme.user).exists()
    assert login(client_for(acme.tenant), acme.user.email).status_code == 200  # no challenge


@pytest.mark.parametrize(
    "body", [{}, {"code": ""}, {"code": 123456}, {"code": "123456", "extra": 1}]
)
def test_confirm_refuses_malformed_bodies(acme, body):
    acme.client.post(f"{MFA}totp/", format="json")
    assert_error(acme.client.post(f"{MFA}totp/confirm/", body, format="json"), 400)
    assert not Authenticator.objects.filter(user=acme.user).exists()


def test_confirm_without_a_pending_setup_is_refused(acme):
    refused = acme.client.post(f"{MFA}totp/confirm/", {"code": "123456"}, format="json")
    assert_error(refused, 409, "mfa_setup_not_started")


def test_the_code_that_confirmed_cannot_log_in(acme):
    secret = acme.client.post(f"{MFA}totp/", format="json").json()["secret"]
    code = totp_code(secret)
    assert acme.client.post(f"{MFA}totp/confirm/", {"code": code}, format="json").status_code == 200
    assert_error(login_mfa(client_for(acme.tenant), challenge(acme), code), 401, "mfa_code_reused")


def test_secrets_are_stored_encrypted(acme):
    enrolled = enroll(acme.client)
    totp = Authenticator.objects.get(user=acme.user, type="totp")
    assert enrolled.secret not in str(totp.data)
    assert MfaAdapter().decrypt(totp.data["secret"]) == enrolled.secret
    codes = Authenticator.objects.get(user=acme.user, type="recovery_codes")
    assert not set(enrolled.recovery_codes) & set(str(codes.data).split("'"))
    seed = MfaAdapter().decrypt(codes.data["seed"])
    assert seed not in str(codes.data)


def test_regenerating_recovery_codes_shows_new_ones_once_and_spends_the_old(acme):
    enrolled = enroll(acme.client)
    assert_error(
        acme.client.post(f"{MFA}recovery-codes/regenerate/", {}, format="json"), 400, "invalid"
    )
    wrong = acme.client.post(
        f"{MFA}recovery-codes/regenerate/", {"password": "not-the-password"}, format="json"
    )
    assert_error(wrong, 400, "invalid_credentials")
    fresh = acme.client.post(
        f"{MFA}recovery-codes/regenerate/", {"password": "correct-horse-battery"}, format="json"
    )
    assert fresh.status_code == 200
    assert_no_store(fresh)
    new_codes = fresh.json()["recovery_codes"]
    assert len(new_codes) == 10
    assert not set(new_codes) & set(enrolled.recovery_codes)
    old = login_mfa(client_for(acme.tenant), challenge(acme), enrolled.recovery_codes[0])
    assert_error(old, 401, "mfa_code_invalid")
    assert login_mfa(client_for(acme.tenant), challenge(acme), new_codes[0]).status_code == 200


def test_regenerating_needs_a_factor(acme):
    refused = acme.client.post(
        f"{MFA}recovery-codes/regenerate/", {"password": "correct-horse-battery"}, format="json"
    )
    assert_error(refused, 409, "mfa_not_enrolled")


def test_removing_totp_needs_a_current_code_or_the_password(acme):
    enrolled = enroll(acme.client)
    remove = f"{MFA}totp/remove/"
    assert_error(acme.client.post(remove, {"code": "000000"}, format="json"), 400)
    assert_error(
        acme.client.post(remove, {"code": "1", "password": "x"}, format="json"), 400, "invalid"
    )
    assert (
        acme.client.post(remove, {"code": totp_code(enrolled.secret)}, format="json").status_code
        == 204
    )
    assert not Authenticator.objects.filter(user=acme.user).exists()  # recovery codes too
    assert login(client_for(acme.tenant), acme.user.email).status_code == 200  # no challenge
    assert_error(
        acme.client.post(remove, {"password": "x"}, format="json"), 409, "mfa_not_enrolled"
    )


def test_removing_with_the_password(acme):
    enroll(acme.client)
    removed = acme.client.post(
        f"{MFA}totp/remove/", {"password": "correct-horse-battery"}, format="json"
    )
    assert removed.status_code == 204
    assert acme.client.get(MFA).json()["enrolled"] is False


@pytest.mark.usefixtures("signup_plan_includes_api")
def test_an_applications_token_cannot_touch_the_factors(acme, register_app):
    app = register_app(acme.tenant, acme.user, scopes=("read", "write", "admin"))
    token = client_credentials_token(app, scope="read write admin")["access_token"]
    client = client_for(acme.tenant)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_error(client.get(MFA), 403)
    assert_error(client.post(f"{MFA}totp/", format="json"), 403)


def test_anonymous_is_401(acme):
    assert_error(client_for(acme.tenant).get(MFA), 401)
    assert_error(client_for(acme.tenant).post(f"{MFA}totp/", format="json"), 401)


def test_two_concurrent_confirmations_activate_one_factor(committed, make_org, totp_clock):
    org = make_org("acme")
    secret = org.client.post(f"{MFA}totp/", format="json").json()["secret"]
    code = totp_code(secret)
    token = f"Bearer {access_token(org.tenant, org.user)}"
    results: list[int] = []

    def confirm() -> None:
        client = client_for(org.tenant)
        client.credentials(HTTP_AUTHORIZATION=token)
        results.append(
            client.post(f"{MFA}totp/confirm/", {"code": code}, format="json").status_code
        )
        connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 409]
    assert Authenticator.objects.filter(user=org.user, type="totp").count() == 1
    assert Authenticator.objects.filter(user=org.user, type="recovery_codes").count() == 1


def test_two_concurrent_removals_remove_once(committed, make_org, totp_clock):
    org = make_org("acme")
    enroll(org.client)
    token = f"Bearer {access_token(org.tenant, org.user)}"
    results: list[int] = []
    barrier = threading.Barrier(2)

    def remove() -> None:
        client = client_for(org.tenant)
        client.credentials(HTTP_AUTHORIZATION=token)
        barrier.wait()
        body = {"password": "correct-horse-battery"}
        results.append(client.post(f"{MFA}totp/remove/", body, format="json").status_code)
        connection.close()

    threads = [threading.Thread(target=remove) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [204, 409]
    with org.tenant:
        assert AuditEntry.objects.filter(action="mfa.totp_removed").count() == 1


def test_the_encryption_keys_rotate_and_never_reach_a_log(acme, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.MFA_ENCRYPTION_KEYS = [old]
    sealed = MfaAdapter().encrypt("JBSWY3DPEHPK3PXP")
    settings.MFA_ENCRYPTION_KEYS = [new, old]  # the new key encrypts, the old still decrypts
    assert MfaAdapter().decrypt(sealed) == "JBSWY3DPEHPK3PXP"
    assert MfaAdapter().decrypt(MfaAdapter().encrypt("x")) == "x"
    assert new not in redact(f"keys: {new} {old}")
    assert old not in redact(f"keys: {new} {old}")
