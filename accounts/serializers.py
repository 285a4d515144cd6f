"""dj-rest-auth serializers, made tenant-aware: login to one tenant, reset mails only for its
members, and users loaded from the database where a write needs the full row."""

from typing import Any

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from dj_rest_auth import serializers as rest_auth
from dj_rest_auth.forms import AllAuthPasswordResetForm
from django.conf import settings
from rest_framework import exceptions, serializers

from api.serializers import StrictSerializer
from saas.mail import email_send_later

from .models import Membership, User
from .services import user_tokens_revoke_all


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
        memberships = Membership.objects.filter(user=user).select_related("tenant")
        return MembershipOutput(memberships.order_by("tenant__slug"), many=True).data  # type: ignore[return-value]


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
            token = default_token_generator.make_token(user)
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
    """Django's reset tokens are single-use: they hash the password, which this changes."""

    def save(self) -> Any:
        user = super().save()
        user_tokens_revoke_all(user_id=user.pk)
        return user


class DetailOutput(serializers.Serializer):
    detail = serializers.CharField()
