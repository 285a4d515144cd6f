"""JWTs bound to one tenant. Claims: sub (user id), tid (tenant id), role (the role at issue,
informational: access is re-checked per request in accounts.access)."""

from typing import Any

from django.db import transaction
from rest_framework import serializers
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from tenants.models import Tenant

from .access import member_access_from_db
from .models import User

TENANT_CLAIM = "tid"
ROLE_CLAIM = "role"


def tenant_tokens_issue(*, user: User, tenant: Tenant, role: str) -> RefreshToken:
    """A refresh token (and through it an access token) for `user` on `tenant` only."""
    refresh = RefreshToken.for_user(user)
    refresh[TENANT_CLAIM] = tenant.pk
    refresh[ROLE_CLAIM] = role
    return refresh


class TenantTokenRefreshSerializer(TokenRefreshSerializer):
    """Refresh with rotation, refused at once when the token was already used, belongs to
    another tenant, or its user is no longer an active member (checked in the database)."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        tenant = getattr(self.context["request"], "tenant", None)
        try:
            refresh = RefreshToken(attrs["refresh"])
        except TokenError as exc:
            raise InvalidToken(str(exc)) from exc
        if tenant is None or refresh.get(TENANT_CLAIM) != tenant.pk:
            raise InvalidToken("Token is not valid for this organization.")
        access = member_access_from_db(user_id=int(refresh["sub"]), tenant_id=tenant.pk)
        if access is None:
            raise InvalidToken("This account no longer has access to this organization.")
        with transaction.atomic():
            _claim_for_rotation(refresh)
            data = super().validate(attrs)
        return data


def _claim_for_rotation(refresh: RefreshToken) -> None:
    """Lock the token's row so two concurrent refreshes with one token cannot both rotate it:
    the second waits, then finds it blacklisted."""
    outstanding = OutstandingToken.objects.select_for_update().filter(jti=refresh["jti"]).first()
    if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
        raise InvalidToken("Token is blacklisted.")


class RefreshedTokensOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
