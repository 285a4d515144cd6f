"""The bodies of the authentication endpoints (dj-rest-auth's and simplejwt's views, through
REST_AUTH and SIMPLE_JWT): each checks the shape of its input and hands it to one service of
accounts.services, which holds the rules."""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework_simplejwt.serializers import TokenRefreshSerializer

from api.serializers import StrictSerializer

from .grants import TenantGrant
from .models import Membership, User
from .selectors import membership_list_of_user
from .services import (
    password_change,
    password_reset_confirm,
    password_reset_request,
    token_pair_refresh,
)


class LoginSerializer(serializers.Serializer):
    """Email + password; accounts.apis.LoginApi hands them to login_tokens_issue."""

    email = serializers.EmailField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TenantTokenRefreshSerializer(TokenRefreshSerializer):
    """simplejwt's refresh body (`refresh` in, `access` out); the rotation and its checks are
    token_pair_refresh's. Its view answers with what validate returns."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        tenant = self.context["request"].tenant  # TokenRefreshApi checked there is one
        return token_pair_refresh(tenant=tenant, raw=attrs["refresh"])


class RefreshedTokensOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class MembershipOutput(serializers.Serializer):
    tenant_id = serializers.IntegerField(source="tenant.id")
    slug = serializers.CharField(source="tenant.slug")
    name = serializers.CharField(source="tenant.name")
    domain = serializers.SerializerMethodField()
    role = serializers.CharField()

    def get_domain(self, membership: Membership) -> str:
        return f"{membership.tenant.slug}.{settings.BASE_DOMAIN}"


class UserDetailsSerializer(StrictSerializer, serializers.ModelSerializer):
    """Strict like every other write body: {"full_name": 0} is refused, not stored as "0".
    (Found by the fuzzer.)"""

    memberships = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ("id", "email", "full_name", "memberships")
        read_only_fields = ("id", "email", "memberships")

    def get_memberships(self, user: User) -> list[dict]:
        grant = getattr(self.context.get("request"), "auth", None)
        # A person's own login sees every organization of theirs. An application's token
        # (OAuth2) was granted on one organization: the others are none of its business.
        only = grant.tenant_id if isinstance(grant, TenantGrant) and grant.kind != "jwt" else None
        memberships = membership_list_of_user(user_id=user.pk, tenant_id=only)
        return MembershipOutput(memberships, many=True).data  # type: ignore[return-value]


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(max_length=128)
    new_password1 = serializers.CharField(max_length=128)
    new_password2 = serializers.CharField(max_length=128)

    def save(self, **kwargs: Any) -> None:
        password_change(user_id=self.context["request"].user.pk, **self.validated_data)


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField()

    def save(self, **kwargs: Any) -> None:
        request = self.context["request"]
        password_reset_request(
            tenant=request.tenant,  # PasswordResetApi checked there is one
            email=self.validated_data["email"],
            host=request.get_host(),
        )


class PasswordResetConfirmSerializer(serializers.Serializer):
    new_password1 = serializers.CharField(max_length=128)
    new_password2 = serializers.CharField(max_length=128)
    uid = serializers.CharField()
    token = serializers.CharField()

    def save(self, **kwargs: Any) -> None:
        tenant = self.context["request"].tenant  # PasswordResetConfirmApi checked there is one
        password_reset_confirm(tenant=tenant, **self.validated_data)


class DetailOutput(serializers.Serializer):
    detail = serializers.CharField()


# The login's answer (dj-rest-auth's JWT body): accounts.apis.LoginApi and, after the second
# factor, accounts.mfa.apis.LoginMfaApi.
TokenPairOutput = inline_serializer(
    name="TokenPair",
    fields={
        "access": serializers.CharField(),
        "refresh": serializers.CharField(),
        "access_expiration": serializers.DateTimeField(),
        "refresh_expiration": serializers.DateTimeField(),
        "user": UserDetailsSerializer(),
    },
)
