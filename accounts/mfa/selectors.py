"""Reads: which factors a person has, and what an organization's policy asks. The policy is
read on authenticated requests of owners and admins who logged in without a second factor,
so it is cached (Redis) and dropped after a change commits (services.mfa_policy_set)."""

from dataclasses import dataclass

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.core.cache import cache
from django.db.models import QuerySet

from accounts.roles import MFA_POLICY_ROLES

from .models import MfaPolicy

# The roles a policy can require a second factor of.
POLICY_ROLES = MFA_POLICY_ROLES
# The second factors (recovery codes are a fallback for them, not one).
SECOND_FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
POLICY_CACHE_SECONDS = 300


@dataclass(frozen=True)
class MfaStatus:
    totp: Authenticator | None
    recovery_codes_total: int
    recovery_codes_unused: int
    webauthn_keys: int = 0

    @property
    def enrolled(self) -> bool:
        return self.totp is not None or self.webauthn_keys > 0


def mfa_status(*, user_id: int) -> MfaStatus:
    rows = list(Authenticator.objects.filter(user_id=user_id))
    by_type = {a.type: a for a in rows}
    keys = sum(1 for a in rows if a.type == Authenticator.Type.WEBAUTHN)
    codes = by_type.get(Authenticator.Type.RECOVERY_CODES)
    total = unused = 0
    if codes is not None:
        wrapped = RecoveryCodes(codes)  # not wrap(): it imports WebAuthn (fido2)
        total, unused = len(wrapped.generate_codes()), len(wrapped.get_unused_codes())
    return MfaStatus(by_type.get(Authenticator.Type.TOTP), total, unused, keys)


def webauthn_keys_list(*, user_id: int) -> QuerySet[Authenticator]:
    """The person's security keys, oldest first (their public credentials stay inside)."""
    return Authenticator.objects.filter(user_id=user_id, type=Authenticator.Type.WEBAUTHN).order_by(
        "created_at", "pk"
    )


def mfa_enrolled(*, user_id: int) -> bool:
    """Whether the person has a second factor (recovery codes alone are not one)."""
    return Authenticator.objects.filter(user_id=user_id, type__in=SECOND_FACTORS).exists()


def _policy_key(tenant_id: int) -> str:
    return f"mfa:policy:{tenant_id}"


def mfa_policy_get(*, tenant_id: int) -> bool:
    """Whether `tenant` requires a second factor of its owners and admins."""
    cached = cache.get(_policy_key(tenant_id))
    if isinstance(cached, bool):
        return cached
    required = MfaPolicy.objects.filter(tenant_id=tenant_id, require_for_admins=True).exists()
    cache.set(_policy_key(tenant_id), required, timeout=POLICY_CACHE_SECONDS)
    return required


def mfa_policy_forget(*, tenant_id: int) -> None:
    cache.delete(_policy_key(tenant_id))


def mfa_required_of(*, tenant_id: int, role: str) -> bool:
    return role in POLICY_ROLES and mfa_policy_get(tenant_id=tenant_id)
