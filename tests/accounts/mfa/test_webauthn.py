"""Security keys (WebAuthn) as a second factor, over plain HTTP with a software authenticator
(tests.support.webauthn): enrolled by the member on the tenant's host (the relying party),
listed without their credentials, renamed, removed; the login's 202 offers them with the
challenge's request options, and `auth/login/mfa/` takes the assertion for that challenge
only, from that host's origin, once, from one of the member's own keys, with a counter that
goes up."""

import threading
from datetime import timedelta
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.db import connection
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from accounts.mfa.models import WebauthnRegistration
from accounts.models import Role
from saas.audit.models import AuditEntry
from tests.factories import PASSWORD, Org, client_for, make_member
from tests.support.http import access_token, assert_error, assert_no_store
from tests.support.mfa import MFA, enroll, logged_in_with_mfa, login, login_mfa, totp_code
from tests.support.webauthn import (
    WEBAUTHN,
    SoftKey,
    browser_origin,
    enroll_key,
    key_challenge,
    login_with_key,
    register_begin,
    register_complete,
)

pytestmark = pytest.mark.usefixtures("totp_clock", "loose_rates")


def _amr(access: str) -> list[str]:
    return list(AccessToken(access)["amr"])  # type: ignore[arg-type]


def _key_login(org: Org, key: SoftKey, **bend: Any) -> Any:
    started = key_challenge(org)
    kwargs: dict[str, Any] = {"origin": browser_origin(org), **bend}
    assertion = key.get(started["webauthn"], **kwargs)
    return login_with_key(client_for(org.tenant), started["mfa_token"], assertion)


# ---- enrollment -----------------------------------------------------------------------------


def test_begin_returns_creation_options_for_this_host(acme):
    begun = acme.client.post(f"{WEBAUTHN}register/", {}, format="json")
    assert begun.status_code == 201
    assert_no_store(begun)
    body = begun.json()
    assert body["expires_in"] == 300
    public = body["options"]["publicKey"]
    assert public["rp"]["id"] == "acme.localhost"
    assert public["user"]["name"] == acme.user.email
    assert len(public["challenge"]) >= 22
    assert public["authenticatorSelection"]["residentKey"] == "discouraged"
    assert public["excludeCredentials"] == []
    # Waiting server-side, bound to the member and the organization; nothing active yet.
    pending = WebauthnRegistration.objects.get(user=acme.user)
    assert pending.tenant_id == acme.tenant.pk
    assert pending.rp_id == "acme.localhost"
    assert not Authenticator.objects.filter(user=acme.user).exists()


def test_a_passkey_is_asked_to_be_resident_and_verify_the_person(acme):
    public = register_begin(acme.client, passkey=True)["options"]["publicKey"]
    assert public["authenticatorSelection"]["residentKey"] == "required"
    assert public["authenticatorSelection"]["userVerification"] == "required"


def test_a_passkey_that_did_not_verify_the_person_is_refused(acme):
    options = register_begin(acme.client, passkey=True)["options"]
    unverified = SoftKey().create(options, origin=browser_origin(acme), verified=False)
    assert_error(register_complete(acme.client, unverified), 400, "mfa_webauthn_invalid")
    # A security key as a second factor is only asked to ("preferred"): it enrolls.
    options = register_begin(acme.client)["options"]
    plain = SoftKey().create(options, origin=browser_origin(acme), verified=False)
    assert register_complete(acme.client, plain).status_code == 201


def test_an_expired_enrollment_is_409(acme):
    options = register_begin(acme.client)["options"]
    WebauthnRegistration.objects.filter(user=acme.user).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    late = register_complete(acme.client, SoftKey().create(options, origin=browser_origin(acme)))
    assert_error(late, 409, "mfa_setup_not_started")
    assert not Authenticator.objects.filter(user=acme.user).exists()


def test_enroll_list_rename_and_the_status(acme):
    key = SoftKey()
    options = register_begin(acme.client)["options"]
    done = register_complete(
        acme.client, key.create(options, origin=browser_origin(acme), resident=True), "Laptop"
    )
    assert done.status_code == 201, done.content
    assert_no_store(done)
    body = done.json()
    assert body["key"]["name"] == "Laptop"
    assert body["key"]["passkey"] is True
    assert body["key"]["rp_id"] == "acme.localhost"
    assert len(body["recovery_codes"]) == 10  # the first factor makes them, shown once

    listed = acme.client.get(WEBAUTHN)
    assert listed.status_code == 200
    [entry] = listed.json()["results"]
    assert set(entry) == {"id", "name", "passkey", "rp_id", "created_at", "last_used_at"}
    assert entry["last_used_at"] is None
    assert "credential" not in str(listed.json()["results"])
    assert acme.client.get(MFA).json()["enrolled"] is True
    # The pending enrollment is spent.
    assert not WebauthnRegistration.objects.filter(user=acme.user).exists()

    renamed = acme.client.patch(f"{WEBAUTHN}{entry['id']}/", {"name": "Work key"}, format="json")
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Work key"
    assert acme.client.get(WEBAUTHN).json()["results"][0]["name"] == "Work key"
    unchanged = acme.client.patch(f"{WEBAUTHN}{entry['id']}/", {}, format="json")
    assert unchanged.status_code == 200
    assert unchanged.json()["name"] == "Work key"
    assert_error(acme.client.patch(f"{WEBAUTHN}{entry['id']}/", {"name": ""}, format="json"), 400)

    # A second key: no new recovery codes, and the first is excluded from its options.
    options = register_begin(acme.client)["options"]
    assert [c["id"] for c in options["publicKey"]["excludeCredentials"]] == [
        key.create(options, origin=browser_origin(acme))["id"]
    ]
    second = register_complete(acme.client, SoftKey().create(options, origin=browser_origin(acme)))
    assert second.status_code == 201
    assert second.json()["recovery_codes"] == []
    assert len(acme.client.get(WEBAUTHN).json()["results"]) == 2


def test_enrolling_and_removing_are_audited(acme):
    enroll_key(acme, "YubiKey")
    key_id = acme.client.get(WEBAUTHN).json()["results"][0]["id"]
    removed = acme.client.post(f"{WEBAUTHN}{key_id}/remove/", {"password": PASSWORD}, format="json")
    assert removed.status_code == 204
    with acme.tenant:
        added = AuditEntry.objects.get(action="mfa.webauthn_added")
        gone = AuditEntry.objects.get(action="mfa.webauthn_removed")
    assert added.changes["webauthn"]["after"] == {"id": key_id, "name": "YubiKey"}
    assert gone.changes["webauthn"]["before"] == {"id": key_id, "name": "YubiKey"}
    assert "credential" not in str(added.changes)


@pytest.mark.parametrize(
    ("bend", "why"),
    [
        ({"origin": "http://evil.localhost"}, "another origin"),
        ({"origin": "http://beta.localhost"}, "another tenant's origin"),
        ({"origin": "http://sub.acme.localhost"}, "a subdomain of the host"),
        ({"origin": "http://acme.localhost:9999"}, "another port"),
        ({"rp_id": "beta.localhost"}, "another relying party id"),
        ({"challenge": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "another challenge"),
    ],
)
def test_a_bent_attestation_enrolls_nothing_and_spends_the_enrollment(acme, bend, why):
    options = register_begin(acme.client)["options"]
    kwargs = {"origin": browser_origin(acme), **bend}
    refused = register_complete(acme.client, SoftKey().create(options, **kwargs))
    assert_error(refused, 400, "mfa_webauthn_invalid")
    assert not Authenticator.objects.filter(user=acme.user).exists(), why
    # Single use: the right answer to the same options is now too late.
    again = register_complete(acme.client, SoftKey().create(options, origin=browser_origin(acme)))
    assert_error(again, 409, "mfa_setup_not_started")


@pytest.mark.parametrize(
    "credential",
    [
        {},
        {"id": "x", "rawId": "x", "type": "public-key", "response": {}},
        {
            "id": "AA",
            "rawId": "AA",
            "type": "public-key",
            "response": {"clientDataJSON": "!!", "attestationObject": "AA"},
        },
    ],
)
def test_garbage_attestations_are_400(acme, credential):
    register_begin(acme.client)
    refused = register_complete(acme.client, credential)
    assert_error(refused, 400, "mfa_webauthn_invalid")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "x"},
        {"name": "", "credential": {}},
        {"name": "x", "credential": "a string"},
        {"name": "x", "credential": []},
        {"name": "x" * 65, "credential": {}},
        {"name": "x", "credential": {}, "extra": 1},
    ],
)
def test_malformed_complete_bodies_are_400(acme, body):
    register_begin(acme.client)
    assert_error(acme.client.post(f"{WEBAUTHN}register/complete/", body, format="json"), 400)


@pytest.mark.parametrize("body", [{"passkey": "yes"}, {"passkey": 1}, {"other": True}])
def test_malformed_begin_bodies_are_400(acme, body):
    assert_error(acme.client.post(f"{WEBAUTHN}register/", body, format="json"), 400)


def test_complete_without_begin_is_409(acme):
    refused = register_complete(
        acme.client,
        SoftKey().create(
            {
                "publicKey": {
                    "rp": {"id": "acme.localhost"},
                    "user": {"id": "MQ"},
                    "challenge": "AAAAAAAAAAAAAAAAAAAAAA",
                }
            },
            origin=browser_origin(acme),
        ),
    )
    assert_error(refused, 409, "mfa_setup_not_started")


def test_an_enrollment_begun_on_acme_cannot_be_completed_on_beta(acme, beta):
    """The same person, a member of both: the pending state is the organization's and the
    key is for the host it was begun on."""
    make_member(beta.tenant, Role.MEMBER, user=acme.user)
    on_beta = client_for(beta.tenant, acme.user)
    options = register_begin(acme.client)["options"]
    refused = register_complete(on_beta, SoftKey().create(options, origin="http://beta.localhost"))
    assert_error(refused, 409, "mfa_setup_not_started")
    # acme's enrollment is still there for acme.
    done = register_complete(acme.client, SoftKey().create(options, origin=browser_origin(acme)))
    assert done.status_code == 201


def test_the_same_key_twice_is_409(acme):
    key = enroll_key(acme)
    options = register_begin(acme.client)["options"]
    again = register_complete(acme.client, key.create(options, origin=browser_origin(acme)))
    assert_error(again, 409, "mfa_webauthn_already_enrolled")
    assert Authenticator.objects.filter(user=acme.user, type="webauthn").count() == 1


def test_keys_are_capped_per_person(acme, settings):
    settings.MFA_WEBAUTHN_MAX_KEYS = 2
    enroll_key(acme, "one")
    enroll_key(acme, "two")
    refused = acme.client.post(f"{WEBAUTHN}register/", {}, format="json")
    assert_error(refused, 409, "mfa_webauthn_too_many_keys")
    assert not WebauthnRegistration.objects.filter(user=acme.user).exists()


def test_another_members_key_cannot_be_renamed_or_removed(acme, beta):
    enroll_key(acme)
    key_id = acme.client.get(WEBAUTHN).json()["results"][0]["id"]
    other = acme.join(Role.ADMIN)
    assert other.client.get(WEBAUTHN).json()["results"] == []
    assert_error(other.client.patch(f"{WEBAUTHN}{key_id}/", {"name": "mine"}, format="json"), 404)
    assert_error(
        other.client.post(f"{WEBAUTHN}{key_id}/remove/", {"password": PASSWORD}, format="json"),
        404,
    )
    assert_error(
        beta.client.post(f"{WEBAUTHN}{key_id}/remove/", {"password": PASSWORD}, format="json"),
        404,
    )
    assert Authenticator.objects.filter(user=acme.user, type="webauthn").count() == 1


def test_removing_needs_the_password_or_a_code(acme):
    enroll_key(acme)
    key_id = acme.client.get(WEBAUTHN).json()["results"][0]["id"]
    url = f"{WEBAUTHN}{key_id}/remove/"
    assert_error(acme.client.post(url, {}, format="json"), 400)
    assert_error(acme.client.post(url, {"password": "wrong"}, format="json"), 400)
    assert Authenticator.objects.filter(user=acme.user, type="webauthn").exists()
    assert acme.client.post(url, {"password": PASSWORD}, format="json").status_code == 204
    # The last second factor gone: so are the recovery codes, and the login asks for none.
    assert not Authenticator.objects.filter(user=acme.user).exists()
    assert login(client_for(acme.tenant), acme.user.email).status_code == 200


@pytest.mark.usefixtures("signup_plan_includes_api")
def test_an_applications_token_cannot_touch_the_keys(acme, register_app):
    from tests.support.oauth import client_credentials_token

    app = register_app(acme.tenant, acme.user, scopes=("read", "write", "admin"))
    token = client_credentials_token(app, scope="read write admin")["access_token"]
    client = client_for(acme.tenant)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_error(client.get(WEBAUTHN), 403)
    assert_error(client.post(f"{WEBAUTHN}register/", {}, format="json"), 403)


def test_anonymous_is_401(acme):
    assert_error(client_for(acme.tenant).get(WEBAUTHN), 401)
    assert_error(client_for(acme.tenant).post(f"{WEBAUTHN}register/", {}, format="json"), 401)


# ---- the login ------------------------------------------------------------------------------


def test_login_with_a_key_202_then_200_with_the_pair(acme):
    key = enroll_key(acme)
    started = key_challenge(acme)
    assert started["types"] == ["webauthn", "recovery_codes"]
    public = started["webauthn"]["publicKey"]
    assert public["rpId"] == "acme.localhost"
    assert [c["id"] for c in public["allowCredentials"]] == [
        key.get(started["webauthn"], origin=browser_origin(acme))["id"]
    ]
    assertion = key.get(started["webauthn"], origin=browser_origin(acme))
    answer = login_with_key(client_for(acme.tenant), started["mfa_token"], assertion)
    assert answer.status_code == 200, answer.content
    assert_no_store(answer)
    pair = answer.json()
    assert _amr(pair["access"]) == ["pwd", "webauthn", "mfa"]
    assert (
        client_for(acme.tenant)
        .get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
        .status_code
        == 200
    )
    assert acme.client.get(WEBAUTHN).json()["results"][0]["last_used_at"] is not None


def test_a_totp_member_is_offered_what_they_have(acme):
    enroll(acme.client)
    started = key_challenge(acme)
    assert started["types"] == ["totp", "recovery_codes"]
    assert started["webauthn"] is None
    enroll_key(acme)
    started = key_challenge(acme)
    assert started["types"] == ["totp", "webauthn", "recovery_codes"]
    assert started["webauthn"]["publicKey"]["challenge"]


@pytest.mark.parametrize(
    "bend",
    [
        {"origin": "http://evil.localhost"},
        {"origin": "http://sub.acme.localhost"},
        {"rp_id": "evil.localhost"},
        {"challenge": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
    ],
)
def test_a_bent_assertion_is_401(acme, bend):
    key = enroll_key(acme)
    assert_error(_key_login(acme, key, **bend), 401, "mfa_webauthn_invalid")


def test_an_assertion_for_another_challenge_is_refused(acme):
    key = enroll_key(acme)
    first, second = key_challenge(acme), key_challenge(acme)
    for_first = key.get(first["webauthn"], origin=browser_origin(acme))
    refused = login_with_key(client_for(acme.tenant), second["mfa_token"], for_first)
    assert_error(refused, 401, "mfa_webauthn_invalid")
    # It still works for its own challenge.
    assert login_with_key(client_for(acme.tenant), first["mfa_token"], for_first).status_code == 200


def test_a_replayed_assertion_is_refused(acme):
    key = enroll_key(acme)
    started = key_challenge(acme)
    assertion = key.get(started["webauthn"], origin=browser_origin(acme))
    client = client_for(acme.tenant)
    assert login_with_key(client, started["mfa_token"], assertion).status_code == 200
    again = login_with_key(client, started["mfa_token"], assertion)
    assert_error(again, 401, "mfa_challenge_invalid")
    # On a fresh challenge the old signature is over the old challenge.
    fresh = key_challenge(acme)
    assert_error(login_with_key(client, fresh["mfa_token"], assertion), 401, "mfa_webauthn_invalid")


def test_a_signature_counter_that_does_not_go_up_is_refused(acme):
    key = enroll_key(acme)
    assert _key_login(acme, key, counter=5).status_code == 200
    # A clone of the key (the same private key, its own counter) is caught.
    assert_error(_key_login(acme, key, counter=5), 401, "mfa_webauthn_invalid")
    assert_error(_key_login(acme, key, counter=3), 401, "mfa_webauthn_invalid")
    assert _key_login(acme, key, counter=6).status_code == 200


def test_another_members_key_is_refused(acme):
    enroll_key(acme)
    other = acme.join(Role.MEMBER)
    other_key = enroll_key(other)
    started = key_challenge(acme)
    # Signed by other's key (allowCredentials ignored, as a malicious client would).
    assertion = other_key.get(started["webauthn"], origin=browser_origin(acme))
    refused = login_with_key(client_for(acme.tenant), started["mfa_token"], assertion)
    assert_error(refused, 401, "mfa_webauthn_invalid")


def test_a_key_not_enrolled_anywhere_is_refused(acme):
    enroll_key(acme)
    started = key_challenge(acme)
    assertion = SoftKey().get(started["webauthn"], origin=browser_origin(acme))
    refused = login_with_key(client_for(acme.tenant), started["mfa_token"], assertion)
    assert_error(refused, 401, "mfa_webauthn_invalid")


def test_beta_refuses_acmes_challenge_and_offers_acmes_key_nowhere_else(acme, beta):
    key = enroll_key(acme)
    make_member(beta.tenant, Role.MEMBER, user=acme.user)
    started = key_challenge(acme)
    assertion = key.get(started["webauthn"], origin=browser_origin(acme))
    on_beta = login_with_key(client_for(beta.tenant), started["mfa_token"], assertion)
    assert_error(on_beta, 401, "mfa_challenge_invalid")
    # The person logs in on beta: the account has a second factor, but acme's key is for
    # acme's host only; beta offers the recovery codes.
    answer = login(client_for(beta.tenant), acme.user.email)
    assert answer.status_code == 202
    assert answer.json()["types"] == ["recovery_codes"]
    assert answer.json()["webauthn"] is None
    token = answer.json()["mfa_token"]
    signed_for_beta = key.get(
        {"publicKey": {"rpId": "beta.localhost", "challenge": "AAAAAAAAAAAAAAAAAAAAAA"}},
        origin="http://beta.localhost",
    )
    assert_error(
        login_with_key(client_for(beta.tenant), token, signed_for_beta), 401, "mfa_webauthn_invalid"
    )
    # acme's own login still works with the key.
    again = login_with_key(client_for(acme.tenant), started["mfa_token"], assertion)
    assert again.status_code == 200


def test_after_removing_the_key_the_login_no_longer_offers_it(acme):
    enroll(acme.client)  # a TOTP app stays
    key = enroll_key(acme)
    stale = key_challenge(acme)
    key_id = acme.client.get(WEBAUTHN).json()["results"][0]["id"]
    removed = acme.client.post(f"{WEBAUTHN}{key_id}/remove/", {"password": PASSWORD}, format="json")
    assert removed.status_code == 204
    started = key_challenge(acme)
    assert started["types"] == ["totp", "recovery_codes"]
    assert started["webauthn"] is None
    # A challenge issued while it was there no longer takes it either.
    assertion = key.get(stale["webauthn"], origin=browser_origin(acme))
    refused = login_with_key(client_for(acme.tenant), stale["mfa_token"], assertion)
    assert_error(refused, 401, "mfa_webauthn_invalid")
    # The recovery codes stay with the TOTP app.
    assert acme.client.get(MFA).json()["recovery_codes"]["unused"] == 10


def test_removing_the_app_keeps_the_recovery_codes_while_a_key_remains(acme):
    acme.on_plan("pro")
    enrolled = enroll(acme.client)
    key = enroll_key(acme)
    client = logged_in_with_mfa(acme, totp_code(enrolled.secret))
    on = client.put(f"{MFA}policy/", {"require_for_admins": True}, format="json")
    assert on.status_code == 200
    # The policy holds, but the key is a second factor still: the app may go.
    removed = client.post(f"{MFA}totp/remove/", {"password": PASSWORD}, format="json")
    assert removed.status_code == 204, removed.content
    assert client.get(MFA).json()["recovery_codes"]["unused"] == 10
    started = key_challenge(acme)
    assert started["types"] == ["webauthn", "recovery_codes"]
    assert _key_login(acme, key).status_code == 200


def test_a_recovery_code_still_logs_in_a_key_holder(acme):
    enroll_key(acme)
    # The codes were shown at enrollment; make new ones to know them.
    regenerated = acme.client.post(
        f"{MFA}recovery-codes/regenerate/", {"password": PASSWORD}, format="json"
    )
    assert regenerated.status_code == 200, regenerated.content
    codes = regenerated.json()["recovery_codes"]
    started = key_challenge(acme)
    answer = login_mfa(client_for(acme.tenant), started["mfa_token"], codes[0])
    assert answer.status_code == 200
    assert _amr(answer.json()["access"]) == ["pwd", "rc", "mfa"]


@pytest.mark.parametrize(
    "body",
    [
        {"mfa_token": "x"},
        {"mfa_token": "x", "code": "123456", "webauthn": {}},
        {"mfa_token": "x", "webauthn": "string"},
        {"mfa_token": "x", "webauthn": [1]},
        {"mfa_token": "x", "webauthn": {"a": "b" * 20000}},
    ],
)
def test_malformed_key_second_steps_are_400(acme, body):
    answer = client_for(acme.tenant).post("/api/v1/auth/login/mfa/", body, format="json")
    assert_error(answer, 400)


def test_garbage_assertions_count_as_wrong_answers(acme):
    enroll_key(acme)
    started = key_challenge(acme)
    for garbage in [{}, {"id": "AA", "rawId": "AA", "type": "public-key", "response": {}}] * 2 + [
        {"response": {"clientDataJSON": 5}}
    ]:
        refused = login_with_key(client_for(acme.tenant), started["mfa_token"], garbage)
        assert_error(refused, 401, "mfa_webauthn_invalid")
    # Five wrong answers: the challenge is dead, as with wrong codes.
    assert_error(
        login_with_key(client_for(acme.tenant), started["mfa_token"], {}),
        401,
        "mfa_challenge_invalid",
    )


def test_wrong_assertions_are_throttled_per_account(acme):
    key = enroll_key(acme)
    for _ in range(2):
        started = key_challenge(acme)
        for _ in range(5):
            login_with_key(client_for(acme.tenant), started["mfa_token"], {})
    locked = _key_login(acme, key)
    assert_error(locked, 429, "mfa_locked")


# ---- the policy -----------------------------------------------------------------------------


def test_a_key_login_satisfies_the_policy_and_the_last_key_stays(acme):
    acme.on_plan("pro")
    key = enroll_key(acme)
    answer = _key_login(acme, key)
    assert answer.status_code == 200
    client = client_for(acme.tenant)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {answer.json()['access']}")
    on = client.put(f"{MFA}policy/", {"require_for_admins": True}, format="json")
    assert on.status_code == 200, on.content
    assert client.get("/api/v1/projects/").status_code == 200
    assert client.get(MFA).json()["logged_in_with_mfa"] is True
    key_id = client.get(WEBAUTHN).json()["results"][0]["id"]
    refused = client.post(f"{WEBAUTHN}{key_id}/remove/", {"password": PASSWORD}, format="json")
    assert_error(refused, 409, "mfa_required_by_policy")
    # With another factor it may go.
    secret = enroll(client).secret
    assert (
        client.post(
            f"{WEBAUTHN}{key_id}/remove/", {"code": totp_code(secret, 1)}, format="json"
        ).status_code
        == 204
    )


def test_an_admin_held_back_by_the_policy_can_enroll_a_key_and_comply(acme):
    acme.on_plan("pro")
    enrolled = enroll(acme.client)
    owner = logged_in_with_mfa(acme, totp_code(enrolled.secret))
    on = owner.put(f"{MFA}policy/", {"require_for_admins": True}, format="json")
    assert on.status_code == 200
    admin = acme.join(Role.ADMIN)
    pair = login(client_for(acme.tenant), admin.user.email).json()
    admin.client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert_error(admin.client.get("/api/v1/projects/"), 403, "mfa_enrollment_required")
    key = enroll_key(admin)
    assert admin.client.get(WEBAUTHN).status_code == 200
    answer = _key_login(admin, key)
    assert answer.status_code == 200
    assert (
        client_for(acme.tenant)
        .get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Bearer {answer.json()['access']}")
        .status_code
        == 200
    )


# ---- at once ----------------------------------------------------------------------------------


def _twice_at_once(send: object) -> list[int]:
    results: list[int] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        results.append(send())  # type: ignore[operator]
        connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(results)


def test_two_concurrent_completes_of_one_enrollment_make_one_key(committed, make_org, totp_clock):
    org = make_org("acme")
    options = register_begin(org.client)["options"]
    credential = SoftKey().create(options, origin=browser_origin(org))
    token = f"Bearer {access_token(org.tenant, org.user)}"

    def complete() -> int:
        client = client_for(org.tenant)
        client.credentials(HTTP_AUTHORIZATION=token)
        return int(register_complete(client, credential).status_code)

    assert _twice_at_once(complete) == [201, 409]
    assert Authenticator.objects.filter(user=org.user, type="webauthn").count() == 1
    assert Authenticator.objects.filter(user=org.user, type="recovery_codes").count() == 1
    with org.tenant:
        assert AuditEntry.objects.filter(action="mfa.webauthn_added").count() == 1


def test_one_assertion_sent_twice_at_once_logs_in_once(committed, make_org, totp_clock):
    org = make_org("acme")
    key = enroll_key(org)
    started = key_challenge(org)
    assertion = key.get(started["webauthn"], origin=browser_origin(org))

    def use() -> int:
        answer = login_with_key(client_for(org.tenant), started["mfa_token"], assertion)
        return int(answer.status_code)

    assert _twice_at_once(use) == [200, 401]


def test_two_concurrent_begins_leave_one_pending_enrollment(committed, make_org, totp_clock):
    org = make_org("acme")
    token = f"Bearer {access_token(org.tenant, org.user)}"
    challenges: list[str] = []

    def begin() -> int:
        client = client_for(org.tenant)
        client.credentials(HTTP_AUTHORIZATION=token)
        answer = client.post(f"{WEBAUTHN}register/", {}, format="json")
        if answer.status_code == 201:
            challenges.append(answer.json()["options"]["publicKey"]["challenge"])
        return int(answer.status_code)

    assert _twice_at_once(begin) == [201, 201]
    [pending] = WebauthnRegistration.objects.filter(user=org.user)
    assert pending.state["challenge"] in challenges


def test_two_concurrent_removals_of_one_key_remove_it_once(committed, make_org, totp_clock):
    org = make_org("acme")
    enroll_key(org)
    key_id = org.client.get(WEBAUTHN).json()["results"][0]["id"]
    token = f"Bearer {access_token(org.tenant, org.user)}"

    def remove() -> int:
        client = client_for(org.tenant)
        client.credentials(HTTP_AUTHORIZATION=token)
        url = f"{WEBAUTHN}{key_id}/remove/"
        return int(client.post(url, {"password": PASSWORD}, format="json").status_code)

    assert _twice_at_once(remove) == [204, 404]
    with org.tenant:
        assert AuditEntry.objects.filter(action="mfa.webauthn_removed").count() == 1
