"""Authentication endpoints of a tenant host: dj-rest-auth's and simplejwt's views (their
routes, bodies and answers), bound to the tenant. The rules are accounts.services': each
view, through its serializer (accounts.serializers), calls one service."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from dj_rest_auth import views as rest_auth
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.views import TokenRefreshView

from api.base import BaseApi
from api.docs import E400, E401, E403, E404, E429
from api.no_store import NoStoreMixin
from api.serializers import StrictSerializer
from api.throttling import throttles
from saas.errors import NotAuthenticated

from .grants import TenantGrant
from .mfa.serializers import MfaChallengeOutput
from .mfa.services import LoginStart, login_start
from .mfa.webauthn import request_relying_party
from .models import User
from .permissions import HasTenantGrant, IsTenantSession, MfaPolicyMet
from .serializers import (
    DetailOutput,
    RefreshedTokensOutput,
    TokenPairOutput,
    UserDetailsSerializer,
)
from .sso.services import sso_password_login_check
from .tokens import refresh_token_revoke


def _on_tenant_host(request: Request) -> Any:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        raise NotFound("Log in on your organization's host.")
    return tenant


@contextmanager
def _challenged() -> Iterator[None]:
    """A service's 401 (saas.errors.NotAuthenticated) raised as DRF's own, with the same code
    and message: DRF then sends the WWW-Authenticate challenge a 401 carries (RFC 9110)."""
    try:
        yield
    except NotAuthenticated as exc:
        raise AuthenticationFailed(exc.message, code=exc.code) from exc


class LoginApi(NoStoreMixin, rest_auth.LoginView):
    """Tokens only for members of the tenant whose host is called, carrying that tenant; for
    an account with a second factor, a challenge first (accounts.mfa)."""

    throttle_classes = throttles("login")
    started: LoginStart | None = None

    @extend_schema(
        tags=["auth"],
        summary="Log in",
        description="Email and password of a member of this organization. Returns a JWT "
        "pair bound to this organization: other hosts refuse it. An account with two-factor "
        "authentication gets no tokens here: the answer is 202 with a short-lived, "
        "single-use `mfa_token` for this host, which `POST auth/login/mfa/` exchanges, with "
        "a code, for the pair. 403 `sso_required` when the organization enforces single "
        "sign-on for the member's email domain (never for the owner).",
        responses={
            200: TokenPairOutput,
            202: MfaChallengeOutput,
            **E400,
            **E401,
            **E403,
            **E404,
            **E429,
        },
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
        data = self.serializer.validated_data
        with _challenged():
            self.started = login_start(
                tenant=tenant,
                email=data["email"],
                password=data["password"],
                policy=sso_password_login_check,
                rp=request_relying_party(self.request),
            )
        self.user = self.started.user
        if self.started.refresh is not None:
            refresh = self.started.refresh
            self.refresh_token, self.access_token = refresh, refresh.access_token

    def get_response(self) -> Response:
        if self.started is not None and self.started.challenge:
            body = {
                "mfa_required": True,
                "mfa_token": self.started.challenge,
                "expires_in": self.started.expires_in,
                "methods": ["totp", "recovery_code"],
                "types": list(self.started.types),
                "webauthn": self.started.webauthn_options,
            }
            return Response(MfaChallengeOutput(body).data, status=202)
        return super().get_response()


class TokenRefreshApi(NoStoreMixin, TokenRefreshView):
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
        with _challenged():
            return super().post(request, *args, **kwargs)


class LogoutApi(BaseApi):
    """Revokes one refresh token of the caller's, on this tenant (accounts.tokens)."""

    permission_classes = [IsAuthenticated, IsTenantSession]

    class LogoutInput(StrictSerializer):
        refresh = serializers.CharField(help_text="A refresh token of yours for this host.")

    @extend_schema(
        tags=["auth"],
        summary="Log out",
        description="Blacklists the refresh token in the body, which must be one of the "
        "caller's, issued on this organization's host; anything else (invalid, expired, "
        "revoked, someone else's, another organization's) is 401 `token_invalid` and revokes "
        "nothing. The access token lapses within minutes.",
        request=LogoutInput,
        responses={200: DetailOutput, **E400, **E401, **E403},
    )
    def post(self, request: Request) -> Response:
        data = self.validate(self.LogoutInput, request)
        grant = cast(TenantGrant, request.auth)  # of this tenant: IsTenantSession checked it
        refresh_token_revoke(raw=data["refresh"], tenant_id=grant.tenant_id, user_id=grant.user_id)
        return Response({"detail": "Successfully logged out."})


class UserApi(rest_auth.UserDetailsView):
    """The caller's account and every organization it belongs to (only this one for an
    application's token)."""

    http_method_names = ["get", "patch", "head", "options"]

    def get_permissions(self) -> list:
        # Reading oneself is fine for any credential of this tenant; changing the account
        # needs the person's own login.
        if self.request.method == "PATCH":
            return [IsAuthenticated(), IsTenantSession(), MfaPolicyMet()]
        return [IsAuthenticated(), HasTenantGrant()]

    def get_object(self) -> User:
        return User.objects.get(pk=self.request.user.pk)

    @extend_schema(
        tags=["auth"],
        summary="Who am I",
        description="The caller's account and every organization it belongs to, with the "
        "role in each. An OAuth application's token sees only this organization's "
        "membership.",
        responses={200: UserDetailsSerializer, **E401},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["auth"],
        summary="Update my profile",
        description="Changes the caller's own `full_name` (the email address is fixed). "
        "Needs the person's own login: an OAuth application's token is refused (403).",
        responses={200: UserDetailsSerializer, **E400, **E401},
    )
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().patch(request, *args, **kwargs)


class PasswordChangeApi(rest_auth.PasswordChangeView):
    permission_classes = [IsAuthenticated, IsTenantSession, MfaPolicyMet]

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
        description="`uid` and `token` come from the emailed link "
        "(`/reset-password/<uid>/<token>`), which works once. The new password, given twice, "
        "must pass the password rules; every refresh token of the account is revoked.",
        responses={200: DetailOutput, **E400, **E401, **E429},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _on_tenant_host(request)
        return super().post(request, *args, **kwargs)
