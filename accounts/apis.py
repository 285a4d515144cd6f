"""Authentication endpoints of a tenant host: dj-rest-auth's views, bound to the tenant."""

from typing import Any

from dj_rest_auth import views as rest_auth
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.views import TokenRefreshView

from api.docs import E400, E401, E404, E429
from api.throttling import throttles

from .access import member_access_from_db
from .models import User
from .permissions import HasTenantGrant, IsTenantSession
from .serializers import DetailOutput, UserDetailsSerializer
from .tokens import RefreshedTokensOutput, tenant_tokens_issue

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


def _on_tenant_host(request: Request) -> Any:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        raise NotFound("Log in on your organization's host.")
    return tenant


class LoginApi(rest_auth.LoginView):
    """Tokens only for members of the tenant whose host is called, carrying that tenant."""

    throttle_classes = throttles("login")

    @extend_schema(
        tags=["auth"],
        summary="Log in",
        description="Email and password of a member of this organization. Returns a JWT "
        "pair bound to this organization: other hosts refuse it.",
        responses={200: TokenPairOutput, **E400, **E401, **E404, **E429},
        examples=[
            OpenApiExample(
                "Log in",
                value={"email": "owner@acme.test", "password": "correct-horse-battery"},
                request_only=True,
            ),
        ],
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)

    def login(self) -> None:
        tenant = _on_tenant_host(self.request)
        self.user = self.serializer.validated_data["user"]
        access = member_access_from_db(user_id=self.user.pk, tenant_id=tenant.pk)
        if access is None:  # same answer as a wrong password: membership is not disclosed
            raise AuthenticationFailed(
                "Unable to log in with these credentials.", code="invalid_credentials"
            )
        refresh = tenant_tokens_issue(user=self.user, tenant=tenant, role=access.role)
        self.refresh_token, self.access_token = refresh, refresh.access_token


class TokenRefreshApi(TokenRefreshView):
    @extend_schema(
        tags=["auth"],
        summary="Refresh the token pair",
        description="Rotates: the refresh token sent is spent; reusing it is refused.",
        # No header credential: the refresh token in the body is one. ([{}] is OpenAPI's
        # "no security"; drf-spectacular accepts it though its hint says strings.)
        auth=[{}],  # type: ignore[list-item]
        responses={200: RefreshedTokensOutput, **E400, **E401, **E429},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _on_tenant_host(request)
        return super().post(request, *args, **kwargs)


class LogoutApi(rest_auth.LogoutView):
    permission_classes = [IsAuthenticated, IsTenantSession]
    http_method_names = ["post", "options"]

    @extend_schema(
        tags=["auth"],
        summary="Log out",
        description="Blacklists the refresh token in the body; the access token lapses "
        "within minutes.",
        request=inline_serializer("LogoutInput", {"refresh": serializers.CharField()}),
        responses={200: DetailOutput, **E400, **E401},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        refresh = request.data.get("refresh") if isinstance(request.data, dict) else None
        if not isinstance(refresh, str) or not refresh:
            raise serializers.ValidationError({"refresh": ["This field is required."]})
        response = super().post(request, *args, **kwargs)
        if response.status_code == 401:  # found by the fuzzer: dj-rest-auth's own error body
            raise AuthenticationFailed(response.data.get("detail"), code="token_invalid")
        return response


class UserApi(rest_auth.UserDetailsView):
    """The caller's account and every organization it belongs to."""

    http_method_names = ["get", "patch", "head", "options"]

    def get_permissions(self) -> list:
        # Reading oneself is fine for any credential of this tenant; changing the account
        # needs the person's own login.
        if self.request.method == "PATCH":
            return [IsAuthenticated(), IsTenantSession()]
        return [IsAuthenticated(), HasTenantGrant()]

    def get_object(self) -> User:
        return User.objects.get(pk=self.request.user.pk)

    @extend_schema(
        tags=["auth"], summary="Who am I", responses={200: UserDetailsSerializer, **E401}
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["auth"],
        summary="Update my profile",
        responses={200: UserDetailsSerializer, **E400, **E401},
    )
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().patch(request, *args, **kwargs)


class PasswordChangeApi(rest_auth.PasswordChangeView):
    permission_classes = [IsAuthenticated, IsTenantSession]

    @extend_schema(
        tags=["auth"],
        summary="Change my password",
        description="Needs the old password. Every refresh token of the account is revoked.",
        responses={200: DetailOutput, **E400, **E401},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class PasswordResetApi(rest_auth.PasswordResetView):
    permission_classes = [AllowAny]
    throttle_classes = throttles("password_reset")

    @extend_schema(
        tags=["auth"],
        summary="Email a password reset link",
        description="The answer is the same whether or not the address belongs to a member.",
        responses={200: DetailOutput, **E400, **E401, **E429},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _on_tenant_host(request)
        return super().post(request, *args, **kwargs)


class PasswordResetConfirmApi(rest_auth.PasswordResetConfirmView):
    throttle_classes = throttles("password_reset")

    @extend_schema(
        tags=["auth"],
        summary="Set a new password with a reset link",
        responses={200: DetailOutput, **E400, **E401, **E429},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _on_tenant_host(request)
        return super().post(request, *args, **kwargs)
