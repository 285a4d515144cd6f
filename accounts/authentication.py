"""Bearer JWT authentication that binds each token to the tenant whose host is called."""

import re
from typing import Any

from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication

from .access import member_access_get
from .grants import TenantGrant
from .models import User
from .tokens import AMR_CLAIM, MFA_POLICY_SATISFIED_BY, PASSWORD_ONLY, TENANT_CLAIM

_JWT_SHAPE = re.compile(rb"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def looks_like_jwt(raw: bytes) -> bool:
    """Three dot-separated base64url segments (header.payload.signature)."""
    return _JWT_SHAPE.fullmatch(raw) is not None


class TenantJWTAuthentication(JWTAuthentication):
    """Signature, expiry and algorithm via simplejwt (the algorithm is pinned in settings);
    then: the token's tenant is this host's tenant, and its user is still an active member
    (accounts.access: Redis, no query on the hot path)."""

    def authenticate(self, request: Request) -> tuple[User, TenantGrant] | None:  # type: ignore[override]
        header = self.get_header(request)
        raw = self.get_raw_token(header) if header is not None else None
        if raw is None or not looks_like_jwt(raw):
            return None  # not ours: an OAuth2 access token is opaque (accounts.oauth)
        verified = getattr(request, "jwt_validated", None)  # by accounts.prefetch, this request
        token: Any = verified[1] if verified and verified[0] == raw else None
        if token is None:
            token = self.get_validated_token(raw)
        tenant = getattr(request, "tenant", None)
        if tenant is None or token.get(TENANT_CLAIM) != tenant.pk:
            raise AuthenticationFailed(
                "Token is not valid for this organization.", code="token_wrong_tenant"
            )
        user_id = int(token["sub"])
        prefetched = getattr(request, "access_prefetched", None)  # accounts.prefetch's read
        if prefetched is not None and prefetched[:2] == (tenant.pk, user_id):
            access = member_access_get(user_id=user_id, tenant_id=tenant.pk, cached=prefetched[2])
        else:
            access = member_access_get(user_id=user_id, tenant_id=tenant.pk)
        if access is None:
            raise AuthenticationFailed(
                "This account no longer has access to this organization.", code="access_revoked"
            )
        amr = tuple(token.get(AMR_CLAIM) or PASSWORD_ONLY)
        grant = TenantGrant(
            tenant_id=tenant.pk,
            user_id=user_id,
            role=access.role,
            kind="jwt",
            token_id=token.get("jti"),
            amr=amr,
            # The policy's answer came with the member's access (no further read).
            mfa_pending=access.mfa_required and not MFA_POLICY_SATISFIED_BY & set(amr),
        )
        return access.as_user(), grant
