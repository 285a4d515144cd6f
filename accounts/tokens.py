"""JWTs bound to one tenant. Claims: sub (user id), tid (tenant id), role (the role at issue,
informational: access is re-checked per request in accounts.access), amr (how the person
logged in, RFC 8176 style: ["pwd"], or with a second factor ["pwd", "otp", "mfa"]; a refresh
copies it, so a refreshed pair is never more than the login was)."""

from typing import Any

from allauth.account.forms import EmailAwarePasswordResetTokenGenerator
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken, Token
from rest_framework_simplejwt.utils import datetime_from_epoch

from saas.errors import NotAuthenticated
from tenants.models import Tenant

from .models import User

TENANT_CLAIM = "tid"
ROLE_CLAIM = "role"
AMR_CLAIM = "amr"
# A token issued before the claim existed was a password login.
PASSWORD_ONLY = ("pwd",)
# Signed in through the organization's own identity provider (accounts.sso).
SINGLE_SIGN_ON = ("sso",)
# What satisfies an MFA policy (accounts.mfa): our second factor, or the organization's own
# identity provider, whose factors are its administrators' business.
MFA_POLICY_SATISFIED_BY = frozenset({"mfa", "sso"})


class TenantRefreshToken(RefreshToken):
    """simplejwt's refresh token, recorded without its text: simplejwt keeps every issued
    refresh JWT in clear in OutstandingToken.token (a database dump would hold live
    sessions). Revocation needs only the jti, the user and the expiry; the tenant is in the
    token's own claims when it is presented."""

    def _record(self, user: User | None) -> OutstandingToken:
        outstanding, _ = OutstandingToken.objects.get_or_create(
            jti=self.payload["jti"],
            defaults={
                "user": user,
                "created_at": self.current_time,
                "token": "",
                "expires_at": datetime_from_epoch(self.payload["exp"]),
            },
        )
        return outstanding

    def _user(self) -> User | None:
        user_id = self.payload.get("sub")
        return User.objects.filter(pk=int(user_id)).first() if user_id is not None else None

    def outstand(self) -> OutstandingToken:
        return self._record(self._user())

    def blacklist(self) -> BlacklistedToken:
        blacklisted, _ = BlacklistedToken.objects.get_or_create(token=self._record(self._user()))
        return blacklisted

    @classmethod
    def for_user(cls, user: Any) -> "TenantRefreshToken":
        token = Token.for_user.__func__(cls, user)  # type: ignore[attr-defined]
        token._record(user)
        return token


def tenant_tokens_issue(
    *, user: User, tenant: Tenant, role: str, amr: tuple[str, ...] = PASSWORD_ONLY
) -> RefreshToken:
    """A refresh token (and through it an access token) for `user` on `tenant` only; `amr`:
    how the person proved who they are (accounts.mfa)."""
    refresh = TenantRefreshToken.for_user(user)
    refresh[TENANT_CLAIM] = tenant.pk
    refresh[ROLE_CLAIM] = role
    refresh[AMR_CLAIM] = list(amr)
    return refresh


def refresh_token_revoke(*, raw: str, tenant_id: int, user_id: int) -> None:
    """Logout: blacklist `raw` if it is a refresh token of `user_id` issued for `tenant_id`.
    Anything else (malformed, expired, already revoked, another person's, another
    organization's) is refused with one answer and revokes nothing: a logout must not end
    somebody else's session, nor tell the caller whether a token it holds is good elsewhere."""
    try:
        # simplejwt's hint says Token, but it takes (and here gets) the encoded token.
        refresh = TenantRefreshToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise _not_a_token_of_the_caller() from exc
    if refresh.get(TENANT_CLAIM) != tenant_id or str(refresh.get("sub")) != str(user_id):
        raise _not_a_token_of_the_caller()
    refresh.blacklist()


def _not_a_token_of_the_caller() -> NotAuthenticated:
    return NotAuthenticated(
        "Not a valid refresh token of yours for this organization.", code="token_invalid"
    )


class TenantPasswordResetTokenGenerator(EmailAwarePasswordResetTokenGenerator):
    """Password reset tokens of one organization's host. Django's (and allauth's) tokens are
    valid wherever the user can be named, so a link mailed from acme's host reset the
    password on beta's too; with the tenant id in the hashed value it is just an invalid
    token anywhere but the host that sent it. Still single use and expiring: the hash also
    covers the password and last login, and the timestamp."""

    key_salt = "accounts.tokens.TenantPasswordResetTokenGenerator"

    def __init__(self, *, tenant_id: int) -> None:
        super().__init__()
        self.tenant_id = tenant_id

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        return f"{super()._make_hash_value(user, timestamp)}|tenant:{self.tenant_id}"
