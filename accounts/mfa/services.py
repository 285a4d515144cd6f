"""Writes of MFA: enrolling and removing TOTP, recovery codes, the login's second step and an
organization's policy. The factors are allauth.mfa's (Authenticator rows of type "totp" and
"recovery_codes", their secrets encrypted by accounts.mfa.adapter); what allauth leaves to its
HTML views (a pending secret in the session, a replayed code) is done here for the API.
Each configuration change writes its entry into the audit log of the organization whose host
it was made on, in its transaction."""

import functools
import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from allauth.core.internal.cryptokit import compare_user_code
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from allauth.mfa.webauthn.internal.auth import WebAuthn
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.access import member_access_forget_all, member_access_from_db
from accounts.models import User
from accounts.services import login_credentials_check
from accounts.tokens import PASSWORD_ONLY, tenant_tokens_issue
from billing.services.entitlements import entitlement_require
from saas.audit.services import audit_entry_record
from saas.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    TooManyRequests,
)
from tenants.models import Tenant

from .models import MfaChallenge, MfaPolicy, WebauthnRegistration
from .selectors import SECOND_FACTORS, mfa_enrolled, mfa_policy_forget, mfa_required_of
from .webauthn import (
    RP_ID,
    SIGN_COUNT,
    RelyingParty,
    WebauthnRefused,
    assertion_options,
    assertion_verify,
    credentials_for,
    registration_options,
    registration_verify,
    sign_count_advances,
)

logger = logging.getLogger("accounts.mfa")

# How a login proved the second factor, as the tokens' `amr` claim says it (RFC 8176 names
# "otp"; "rc", a recovery code, is ours). "mfa" marks any second factor.
AMR_TOTP = ("pwd", "otp", "mfa")
AMR_RECOVERY_CODE = ("pwd", "rc", "mfa")
AMR_WEBAUTHN = ("pwd", "webauthn", "mfa")


def _normalized(code: str) -> str:
    """As people type codes read off a screen or a printout: spaces and dashes dropped."""
    return code.replace(" ", "").replace("-", "").strip()


# ---- verifying a code ---------------------------------------------------------------------


def _totp_counter(secret: str, code: str) -> int | None:
    """The time step whose code `code` is (within the tolerance), or None."""
    for counter in yield_hotp_counters_from_time():
        if compare_user_code(actual=code, expected=format_hotp_value(hotp_value(secret, counter))):
            return counter
    return None


def _totp_use(*, user_id: int, code: str) -> str:
    """ "ok" (and the step is spent), "reused" or "wrong". The authenticator's row is locked
    and keeps the last step accepted, so a code (and any earlier one) works once, also for
    two requests at the same instant: allauth's own guard is a cache entry, which Redis being
    away or flushed would lift."""
    totp = (
        Authenticator.objects.select_for_update()
        .filter(user_id=user_id, type=Authenticator.Type.TOTP)
        .first()
    )
    if totp is None:
        return "wrong"
    counter = _totp_counter(get_adapter().decrypt(totp.data["secret"]), code)
    if counter is None:
        return "wrong"
    if counter <= int(totp.data.get("last_counter", -1)):
        return "reused"
    totp.data["last_counter"] = counter
    totp.last_used_at = timezone.now()
    totp.save(update_fields=["data", "last_used_at"])
    return "ok"


def _recovery_code_use(*, user_id: int, code: str) -> bool:
    """allauth's check, which locks the row and marks the code used: it works once."""
    codes = Authenticator.objects.filter(
        user_id=user_id, type=Authenticator.Type.RECOVERY_CODES
    ).first()
    if codes is None:
        return False
    wrapped = RecoveryCodes(codes)  # not wrap(): it imports WebAuthn (fido2)
    if not wrapped.validate_code(code):
        return False
    wrapped.instance.record_usage()
    return True


def _second_factor_use(*, user_id: int, code: str) -> tuple[str, tuple[str, ...] | None]:
    """("ok", the login's amr), ("reused", None) or ("wrong", None). Inside a transaction."""
    code = _normalized(code)
    if len(code) == mfa_settings.TOTP_DIGITS:
        outcome = _totp_use(user_id=user_id, code=code)
        return outcome, AMR_TOTP if outcome == "ok" else None
    if _recovery_code_use(user_id=user_id, code=code):
        return "ok", AMR_RECOVERY_CODE
    return "wrong", None


def _wrong_code() -> InvalidInput:
    return InvalidInput(
        "This code is not valid.",
        code="mfa_code_invalid",
        extra={"fields": {"code": ["Not a current code of your authenticator app."]}},
    )


def _reused_code() -> InvalidInput:
    return InvalidInput(
        "This code was already used; wait for the next one.",
        code="mfa_code_reused",
        extra={"fields": {"code": ["Already used."]}},
    )


# ---- wrong codes per account ----------------------------------------------------------------


def _failures_key(user_id: int) -> str:
    return f"mfa:failures:{user_id}"


def _account_wait(user_id: int) -> int | None:
    """Seconds until this account may try codes again, or None. Counted in Redis across all
    of the account's challenges and hosts (a challenge has its own limit besides); Redis
    unreachable: not counted, like every throttle."""
    try:
        failures = cache.get(_failures_key(user_id)) or 0
        if failures < settings.MFA_ACCOUNT_MAX_FAILURES:
            return None
        ttl = getattr(cache, "ttl", lambda key: None)(_failures_key(user_id))
    except Exception:  # noqa: BLE001 - Redis down: the per-challenge limit still holds
        logger.warning("mfa failures not read: Redis unavailable")
        return None
    return int(ttl) if ttl and ttl > 0 else settings.MFA_ACCOUNT_FAILURE_WINDOW_SECONDS


def _account_failure(user_id: int) -> None:
    try:
        cache.add(_failures_key(user_id), 0, timeout=settings.MFA_ACCOUNT_FAILURE_WINDOW_SECONDS)
        cache.incr(_failures_key(user_id))
    except Exception:  # noqa: BLE001
        logger.warning("mfa failure not counted: Redis unavailable")


def _too_many(wait: int) -> TooManyRequests:
    error = TooManyRequests(
        "Too many wrong codes for this account; try again later.", code="mfa_locked"
    )
    error.retry_after = wait
    return error


def _code_check(*, user: User, code: str, password: str) -> None:
    """A configuration change's proof that the caller holds the account: its password, or a
    current code (TOTP or a recovery code, spent). Wrong ones count as failed logins do."""
    wait = _account_wait(user.pk)
    if wait is not None:
        raise _too_many(wait)
    if password:
        if User.objects.get(pk=user.pk).check_password(password):
            return
        _account_failure(user.pk)
        raise InvalidInput(
            "Wrong password.",
            code="invalid_credentials",
            extra={"fields": {"password": ["Wrong password."]}},
        )
    outcome, _ = _second_factor_use(user_id=user.pk, code=code)
    if outcome == "reused":
        raise _reused_code()
    if outcome != "ok":
        _account_failure(user.pk)
        raise _wrong_code()


# ---- enrollment -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TotpSetup:
    secret: str
    otpauth_uri: str
    expires_in: int


def _setup_key(user_id: int) -> str:
    return f"mfa:totp:setup:{user_id}"


def totp_setup_begin(*, user: User) -> TotpSetup:
    """A new TOTP secret for the person's authenticator app, returned this once; it waits
    (encrypted, in Redis) for totp_setup_confirm. Beginning again replaces it."""
    if Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists():
        raise Conflict(
            "An authenticator app is already set up; remove it first.", code="mfa_already_enrolled"
        )
    secret = generate_totp_secret()
    adapter = get_adapter()
    cache.set(_setup_key(user.pk), adapter.encrypt(secret), timeout=settings.MFA_TOTP_SETUP_SECONDS)
    uri = adapter.build_totp_url(user, secret)
    return TotpSetup(secret=secret, otpauth_uri=uri, expires_in=settings.MFA_TOTP_SETUP_SECONDS)


@transaction.atomic
def totp_setup_confirm(*, tenant: Tenant, user: User, code: str) -> list[str]:
    """Activate the pending secret with a current code from the app. The first factor also
    makes the recovery codes, returned this once (an empty list when the account already had
    them). The code that confirmed is spent: it cannot also log in."""
    User.objects.select_for_update().get(pk=user.pk)  # one confirmation at a time per person
    if Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists():
        raise Conflict("An authenticator app is already set up.", code="mfa_already_enrolled")
    pending = cache.get(_setup_key(user.pk))
    if not pending:
        raise Conflict(
            "No authenticator app setup is pending (or it expired): begin again.",
            code="mfa_setup_not_started",
        )
    secret = get_adapter().decrypt(pending)
    counter = _totp_counter(secret, _normalized(code))
    if counter is None:
        raise _wrong_code()
    totp = TOTP.activate(user, secret).instance
    totp.data["last_counter"] = counter
    totp.save(update_fields=["data"])
    codes: list[str] = []
    if not Authenticator.objects.filter(
        user_id=user.pk, type=Authenticator.Type.RECOVERY_CODES
    ).exists():
        codes = RecoveryCodes.activate(user).generate_codes()
    audit_entry_record(
        action="mfa.totp_enabled",
        target_type="user",
        target_id=user.pk,
        changes={
            "totp": {"before": False, "after": True},
            **({"recovery_codes": {"before": 0, "after": len(codes)}} if codes else {}),
        },
        tenant=tenant,
    )
    transaction.on_commit(lambda: cache.delete(_setup_key(user.pk)))
    return codes


@transaction.atomic
def totp_remove(*, tenant: Tenant, user: User, role: str, code: str, password: str) -> None:
    """Remove the authenticator app, with a current code or the password. Its recovery codes
    go with it (they are a fallback for a factor no longer there). Refused while this
    organization's policy requires a second factor of the caller's role."""
    User.objects.select_for_update().get(pk=user.pk)
    totp = Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).first()
    if totp is None:
        raise Conflict("No authenticator app is set up.", code="mfa_not_enrolled")
    _last_factor_check(tenant=tenant, user=user, role=role, leaving=totp)
    _code_check(user=user, code=code, password=password)
    totp.delete()
    _recovery_codes_drop_if_alone(user_id=user.pk)
    audit_entry_record(
        action="mfa.totp_removed",
        target_type="user",
        target_id=user.pk,
        changes={"totp": {"before": True, "after": False}},
        tenant=tenant,
    )


@transaction.atomic
def recovery_codes_regenerate(*, tenant: Tenant, user: User, code: str, password: str) -> list[str]:
    """New recovery codes, returned this once; the old ones stop working. Needs a second
    factor set up, and a current code or the password."""
    User.objects.select_for_update().get(pk=user.pk)
    if not mfa_enrolled(user_id=user.pk):
        raise Conflict("Set up an authenticator app first.", code="mfa_not_enrolled")
    _code_check(user=user, code=code, password=password)
    Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.RECOVERY_CODES).delete()
    codes: list[str] = RecoveryCodes.activate(user).generate_codes()
    audit_entry_record(
        action="mfa.recovery_codes_regenerated",
        target_type="user",
        target_id=user.pk,
        changes={"recovery_codes": {"before": "replaced", "after": len(codes)}},
        tenant=tenant,
    )
    return codes


def _last_factor_check(*, tenant: Tenant, user: User, role: str, leaving: Authenticator) -> None:
    """Removing `leaving` is refused when it is the person's last second factor and this
    organization requires one of their role."""
    others = Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTORS).exclude(
        pk=leaving.pk
    )
    if not others.exists() and mfa_required_of(tenant_id=tenant.pk, role=role):
        raise Conflict(
            "This organization requires a second factor of your role.",
            code="mfa_required_by_policy",
        )


def _recovery_codes_drop_if_alone(*, user_id: int) -> None:
    """Recovery codes are a fallback for a second factor: they go with the last one."""
    if not mfa_enrolled(user_id=user_id):
        Authenticator.objects.filter(
            user_id=user_id, type=Authenticator.Type.RECOVERY_CODES
        ).delete()


# ---- WebAuthn enrollment --------------------------------------------------------------------


@dataclass(frozen=True)
class WebauthnRegistrationStart:
    options: dict[str, Any]
    expires_in: int


def _webauthn_keys(user_id: int) -> Any:
    return Authenticator.objects.filter(user_id=user_id, type=Authenticator.Type.WEBAUTHN)


@transaction.atomic
def webauthn_registration_begin(
    *, tenant: Tenant, user: User, rp: RelyingParty, passkey: bool
) -> WebauthnRegistrationStart:
    """The PublicKeyCredentialCreationOptions for a new key of the person on this host; the
    state waits server-side, bound to the person and the organization, for
    webauthn_registration_complete. Beginning again replaces it (one at a time per person:
    two at once both answer, and the later one's options are the pending ones)."""
    User.objects.select_for_update().get(pk=user.pk)
    if _webauthn_keys(user.pk).count() >= settings.MFA_WEBAUTHN_MAX_KEYS:
        raise Conflict(
            f"At most {settings.MFA_WEBAUTHN_MAX_KEYS} security keys; remove one first.",
            code="mfa_webauthn_too_many_keys",
        )
    options, state = registration_options(rp=rp, user=user, passkey=passkey)
    now = timezone.now()
    seconds = settings.MFA_WEBAUTHN_REGISTRATION_SECONDS
    WebauthnRegistration.objects.update_or_create(
        user=user,
        tenant=tenant,
        defaults={
            "rp_id": rp.id,
            "state": state,
            "passkey": passkey,
            "created_at": now,
            "expires_at": now + timedelta(seconds=seconds),
        },
    )
    return WebauthnRegistrationStart(options=options, expires_in=seconds)


def _registration_invalid() -> InvalidInput:
    return InvalidInput(
        "The security key's answer does not verify for this enrollment: begin again.",
        code="mfa_webauthn_invalid",
        extra={"fields": {"credential": ["Not a valid answer to this enrollment's options."]}},
    )


def webauthn_registration_complete(
    *, tenant: Tenant, user: User, rp: RelyingParty, name: str, credential: Any
) -> tuple[Authenticator, list[str]]:
    """The browser's attestation for the pending enrollment of this person on this host
    makes the key (allauth's WebAuthn authenticator, with its relying party id and signature
    counter). The pending state is spent by the first attempt, right or wrong. The first
    second factor also makes the recovery codes, returned this once."""
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)  # one completion at a time per person
        pending = (
            WebauthnRegistration.objects.select_for_update()
            .filter(user=user, tenant=tenant)
            .first()
        )
        if pending is None or pending.expires_at <= timezone.now() or pending.rp_id != rp.id:
            if pending is not None:
                pending.delete()
            raise Conflict(
                "No security key enrollment is pending here (or it expired): begin again.",
                code="mfa_setup_not_started",
            )
        state = pending.state
        pending.delete()
        refused: InvalidInput | Conflict | None = None
        try:
            response, auth_data = registration_verify(rp=rp, state=state, credential=credential)
        except WebauthnRefused as exc:
            logger.info("webauthn registration refused: %s", exc)
            refused = _registration_invalid()
        if refused is None:
            credential_id = auth_data.credential_data.credential_id  # type: ignore[union-attr]
            if any(
                c.credential_id == credential_id
                for _, c in credentials_for(user_id=user.pk, rp_id=rp.id)
            ):
                refused = Conflict(
                    "This security key is already enrolled.", code="mfa_webauthn_already_enrolled"
                )
        if refused is None:
            first_factor = not mfa_enrolled(user_id=user.pk)
            key = WebAuthn.add(user, name, dict(response)).instance
            key.data[RP_ID] = rp.id
            key.data[SIGN_COUNT] = int(auth_data.counter)
            key.save(update_fields=["data"])
            codes: list[str] = []
            if (
                first_factor
                and not Authenticator.objects.filter(
                    user_id=user.pk, type=Authenticator.Type.RECOVERY_CODES
                ).exists()
            ):
                codes = RecoveryCodes.activate(user).generate_codes()
            audit_entry_record(
                action="mfa.webauthn_added",
                target_type="user",
                target_id=user.pk,
                changes={
                    "webauthn": {"before": None, "after": {"id": key.pk, "name": name}},
                    **({"recovery_codes": {"before": 0, "after": len(codes)}} if codes else {}),
                },
                tenant=tenant,
            )
            return key, codes
    # The spent state is committed; the refusal is raised after it.
    raise refused


def _webauthn_key(*, user_id: int, key_id: int, lock: bool = False) -> Authenticator:
    keys = _webauthn_keys(user_id)
    key = (keys.select_for_update() if lock else keys).filter(pk=key_id).first()
    if key is None:
        raise NotFound("No such security key.", code="mfa_webauthn_not_found")
    return key


@transaction.atomic
def webauthn_rename(*, user: User, key_id: int, name: str | None) -> Authenticator:
    """Rename one of the person's keys (None: unchanged); 404 for anyone else's."""
    key = _webauthn_key(user_id=user.pk, key_id=key_id, lock=True)
    if name is not None and name != key.data.get("name"):
        key.data["name"] = name
        key.save(update_fields=["data"])
    return key


@transaction.atomic
def webauthn_remove(
    *, tenant: Tenant, user: User, role: str, key_id: int, code: str, password: str
) -> None:
    """Remove one of the person's security keys, with the password or a current code. The
    recovery codes go with the last second factor. Refused for the last factor while this
    organization's policy requires one of the caller's role."""
    User.objects.select_for_update().get(pk=user.pk)
    key = _webauthn_key(user_id=user.pk, key_id=key_id, lock=True)
    _last_factor_check(tenant=tenant, user=user, role=role, leaving=key)
    _code_check(user=user, code=code, password=password)
    name = key.data.get("name", "")
    key.delete()
    _recovery_codes_drop_if_alone(user_id=user.pk)
    audit_entry_record(
        action="mfa.webauthn_removed",
        target_type="user",
        target_id=user.pk,
        changes={"webauthn": {"before": {"id": key_id, "name": name}, "after": None}},
        tenant=tenant,
    )


# ---- the login ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginStart:
    """Either the JWT pair (no second factor set up) or a challenge for the second step."""

    user: User
    refresh: RefreshToken | None = None
    challenge: str = ""
    expires_in: int = 0
    # The factors the second step takes on this host ("totp", "webauthn", "recovery_codes")
    # and, with a security key, the PublicKeyCredentialRequestOptions to pass the browser.
    types: tuple[str, ...] = ()
    webauthn_options: dict[str, Any] | None = field(default=None)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login_start(
    *,
    tenant: Tenant,
    email: str,
    password: str,
    policy: Callable[..., None] | None = None,
    rp: RelyingParty | None = None,
) -> LoginStart:
    """The password step (accounts.services.login_credentials_check, with the caller's
    `policy`: the organization's enforced single sign-on). An account with a second factor
    gets a challenge (its token returned once, only its hash kept), never tokens: the pair
    comes from login_mfa_complete. With security keys enrolled for `rp` (the host of the
    login), the challenge also carries a WebAuthn request for them."""
    user, role = login_credentials_check(
        tenant=tenant, email=email, password=password, policy=policy
    )
    if not mfa_enrolled(user_id=user.pk):
        return LoginStart(
            user=user,
            refresh=tenant_tokens_issue(user=user, tenant=tenant, role=role, amr=PASSWORD_ONLY),
        )
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    types = [
        t
        for t in (Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES)
        if Authenticator.objects.filter(user_id=user.pk, type=t).exists()
    ]
    options = state = None
    keys = credentials_for(user_id=user.pk, rp_id=rp.id) if rp is not None else []
    if keys and rp is not None:
        options, state = assertion_options(rp=rp, credentials=[c for _, c in keys])
        types.insert(1 if Authenticator.Type.TOTP in types else 0, Authenticator.Type.WEBAUTHN)
    MfaChallenge.objects.create(
        token_hash=_token_hash(token),
        user=user,
        tenant=tenant,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.MFA_CHALLENGE_SECONDS),
        webauthn_state=state,
        webauthn_rp_id=rp.id if state is not None and rp is not None else "",
    )
    # Spent and expired challenges of this person go as new ones come (no sweeper needed).
    MfaChallenge.objects.filter(user=user, expires_at__lt=now).delete()
    return LoginStart(
        user=user,
        challenge=token,
        expires_in=settings.MFA_CHALLENGE_SECONDS,
        types=tuple(str(t) for t in types),
        webauthn_options=options,
    )


def _challenge_invalid() -> NotAuthenticated:
    return NotAuthenticated(
        "This login challenge is not valid (unknown, used, expired, from another "
        "organization, or too many wrong codes): log in again.",
        code="mfa_challenge_invalid",
    )


def _webauthn_use(*, row: MfaChallenge, rp: RelyingParty | None, assertion: Any) -> str:
    """ "ok" (the key's counter and last use recorded) or "wrong": the challenge's own
    WebAuthn request, on the host it was made for, answered by one of the person's keys of
    that host, with a signature counter that went up (or a key that never counts)."""
    if row.webauthn_state is None or rp is None or rp.id != row.webauthn_rp_id:
        return "wrong"
    keys = credentials_for(user_id=row.user_id, rp_id=rp.id)
    try:
        credential, counter = assertion_verify(
            rp=rp, state=row.webauthn_state, credentials=[c for _, c in keys], assertion=assertion
        )
    except WebauthnRefused as exc:
        logger.info("webauthn assertion refused: %s", exc)
        return "wrong"
    key_id = next(a.pk for a, c in keys if c.credential_id == credential.credential_id)
    key = Authenticator.objects.select_for_update().get(pk=key_id)
    stored = int(key.data.get(SIGN_COUNT, 0))
    if not sign_count_advances(stored=stored, presented=counter):
        logger.warning("webauthn signature counter did not advance (key %s)", key.pk)
        return "wrong"
    key.data[SIGN_COUNT] = counter
    key.last_used_at = timezone.now()
    key.save(update_fields=["data", "last_used_at"])
    return "ok"


def login_mfa_complete(
    *,
    tenant: Tenant,
    challenge: str,
    code: str = "",
    assertion: Any = None,
    rp: RelyingParty | None = None,
) -> tuple[User, RefreshToken]:
    """The second step: the challenge of a login on this tenant's host, and a current TOTP
    code (each time step once), an unused recovery code (once) or the browser's WebAuthn
    assertion for the challenge's request (on `rp`, the host of the request). The pair
    carries how (`amr`). A wrong one counts against the challenge
    (MFA_CHALLENGE_MAX_FAILURES, then it is dead) and the account (MFA_ACCOUNT_MAX_FAILURES
    per window, then 429)."""
    with transaction.atomic():
        row = (
            MfaChallenge.objects.select_for_update()
            .select_related("user")
            .filter(token_hash=_token_hash(challenge))
            .first()
        )
        if (
            row is None
            or row.tenant_id != tenant.pk  # bound to the host it was issued on
            or row.used_at is not None
            or row.expires_at <= timezone.now()
            or row.failed_attempts >= settings.MFA_CHALLENGE_MAX_FAILURES
        ):
            raise _challenge_invalid()
        wait = _account_wait(row.user_id)
        if wait is not None:
            raise _too_many(wait)
        access = member_access_from_db(user_id=row.user_id, tenant_id=tenant.pk)
        if access is None or not row.user.is_active:
            raise _challenge_invalid()
        amr: tuple[str, ...] | None
        if assertion is not None:
            outcome = _webauthn_use(row=row, rp=rp, assertion=assertion)
            amr = AMR_WEBAUTHN if outcome == "ok" else None
        else:
            outcome, amr = _second_factor_use(user_id=row.user_id, code=code)
        if outcome == "ok" and amr is not None:
            row.used_at = timezone.now()
            row.save(update_fields=["used_at"])
            refresh = tenant_tokens_issue(user=row.user, tenant=tenant, role=access.role, amr=amr)
            return row.user, refresh
        # Counted in a transaction that commits: the refusal is raised after it.
        row.failed_attempts += 1
        row.save(update_fields=["failed_attempts"])
    _account_failure(row.user_id)
    if assertion is not None:
        raise NotAuthenticated(
            "This security key's answer does not verify for this login.",
            code="mfa_webauthn_invalid",
        )
    refused = _reused_code() if outcome == "reused" else _wrong_code()
    raise NotAuthenticated(refused.message, code=refused.code)


def second_factor_verify(*, user_id: int, code: str) -> tuple[str, ...] | None:
    """A second factor for a sign-in other than the API's (the OAuth2 sign-in page, where a
    session, not a challenge, carries the first step): the login's amr when `code` is a
    current TOTP code or an unused recovery code (spent), else None. Wrong codes count
    against the account as on the API."""
    if _account_wait(user_id) is not None:
        return None
    with transaction.atomic():
        outcome, amr = _second_factor_use(user_id=user_id, code=code)
    if outcome != "ok":
        _account_failure(user_id)
        return None
    return amr


# ---- the organization's policy --------------------------------------------------------------


@transaction.atomic
def mfa_policy_set(
    *, tenant: Tenant, require_for_admins: bool, caller_amr: tuple[str, ...]
) -> MfaPolicy:
    """Require (or stop requiring) a second factor of owners and admins. Requiring it is the
    plan's "sso" feature (402 otherwise); turning it off is always allowed, so a downgraded
    organization is never stuck with it. Only a caller who logged in with a second factor
    may turn it on: otherwise the change would lock its own author out at once."""
    policy, _ = MfaPolicy.objects.select_for_update().get_or_create(tenant=tenant)
    before = policy.require_for_admins
    if require_for_admins and not before:
        entitlement_require(tenant=tenant, feature="sso")
        if "mfa" not in caller_amr:
            raise Conflict(
                "Log in with a second factor before requiring one of others.",
                code="mfa_enrollment_required",
            )
    if require_for_admins != before:
        policy.require_for_admins = require_for_admins
        policy.save(update_fields=["require_for_admins", "updated_at"])
        audit_entry_record(
            action="mfa.policy_changed",
            target_type="organization",
            target_id=tenant.pk,
            changes={"require_for_admins": {"before": before, "after": require_for_admins}},
            tenant=tenant,
        )
        # Now (this process's next read) and after commit (a reader racing the change); the
        # members' access entries carry the policy's answer for each of them.
        for forget in (mfa_policy_forget, member_access_forget_all):
            forget(tenant_id=tenant.pk)
            transaction.on_commit(functools.partial(forget, tenant_id=tenant.pk))
    return policy
