"""dj-rest-auth serializers, made tenant-aware: login to one tenant, reset mails only for its
members, and users loaded from the database where a write needs the full row."""

from typing import Any

from allauth.account.utils import url_str_to_user_pk, user_pk_to_url_str
from dj_rest_auth import serializers as rest_auth
from dj_rest_auth.forms import AllAuthPasswordResetForm
from django.conf import settings
from rest_framework import exceptions, serializers

from api.serializers import StrictSerializer
from saas.mail import email_send_later

from .grants import TenantGrant
from .models import Membership, User
from .selectors import membership_list_of_user
from .services import user_tokens_revoke_all
from .tokens import TenantPasswordResetTokenGenerator


class LoginSerializer(rest_auth.LoginSerializer):
    """Email + password (allauth's email backend). Every failure is the same 401, so the
    answer does not tell which part was wrong or whether the account exists."""

    username = None
    email = serializers.EmailField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = self.get_auth_user(None, attrs["email"].lower(), attrs["password"])
        if not user or not user.is_active:
            raise exceptions.AuthenticationFailed(
                "Unable to log in with these credentials.", code="invalid_credentials"
            )
        attrs["user"] = user
        return attrs


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


class PasswordChangeSerializer(rest_auth.PasswordChangeSerializer):
    """Requires the old password; afterwards every refresh token of the user is revoked."""

    user: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.user is not None and self.user.is_authenticated:
            # request.user was built from cached claims: load the row with its password hash.
            self.user = User.objects.get(pk=self.user.pk)

    def save(self) -> None:
        self.set_password_form.save()
        user_tokens_revoke_all(user_id=self.user.pk)


class TenantPasswordResetForm(AllAuthPasswordResetForm):
    """Mails a reset link only to members of the tenant asked on, through Celery."""

    def save(self, request: Any, **kwargs: Any) -> str:
        email = self.cleaned_data["email"]
        tenant = request.tenant
        for user in self.users:
            if not Membership.objects.filter(user=user, tenant=tenant).exists():
                continue
            token = TenantPasswordResetTokenGenerator(tenant_id=tenant.pk).make_token(user)
            uid = user_pk_to_url_str(user)
            url = settings.FRONTEND_URL.format(host=request.get_host())
            email_send_later(
                template="password_reset",
                to=user.email,
                context={
                    "email": user.email,
                    "organization": tenant.name,
                    "url": f"{url}/reset-password/{uid}/{token}",
                    "expires_minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
                },
            )
        return email


class PasswordResetSerializer(rest_auth.PasswordResetSerializer):
    @property
    def password_reset_form_class(self) -> type:
        return TenantPasswordResetForm


class PasswordResetConfirmSerializer(rest_auth.PasswordResetConfirmSerializer):
    """Django's reset tokens are single-use: they hash the password, which this changes. They
    are checked as tokens of this host's organization (TenantPasswordResetTokenGenerator): a
    link from another organization's host is an invalid token here."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # dj-rest-auth's validate, with the tenant's token generator instead of the global one.
        tenant = getattr(self.context["request"], "tenant", None)
        try:
            self.user = User.objects.get(pk=url_str_to_user_pk(attrs["uid"]))
        except (TypeError, ValueError, OverflowError, User.DoesNotExist):
            raise serializers.ValidationError({"uid": ["Invalid value"]}) from None
        generator = TenantPasswordResetTokenGenerator(tenant_id=tenant.pk) if tenant else None
        if generator is None or not generator.check_token(self.user, attrs["token"]):
            raise serializers.ValidationError({"token": ["Invalid value"]})
        self.set_password_form = self.set_password_form_class(user=self.user, data=attrs)
        if not self.set_password_form.is_valid():
            raise serializers.ValidationError(self.set_password_form.errors)
        return attrs

    def save(self) -> Any:
        user = super().save()
        user_tokens_revoke_all(user_id=user.pk)
        return user


class DetailOutput(serializers.Serializer):
    detail = serializers.CharField()
