"""Tenant-host routes of MFA, under /api/v1/."""

from django.urls import path

from . import apis

urlpatterns = [
    path("auth/login/mfa/", apis.LoginMfaApi.as_view(), name="auth-login-mfa"),
    path("auth/mfa/", apis.MfaStatusApi.as_view(), name="auth-mfa"),
    path("auth/mfa/totp/", apis.TotpApi.as_view(), name="auth-mfa-totp"),
    path("auth/mfa/totp/confirm/", apis.TotpConfirmApi.as_view(), name="auth-mfa-totp-confirm"),
    path("auth/mfa/totp/remove/", apis.TotpRemoveApi.as_view(), name="auth-mfa-totp-remove"),
    path(
        "auth/mfa/recovery-codes/regenerate/",
        apis.RecoveryCodesRegenerateApi.as_view(),
        name="auth-mfa-recovery-codes-regenerate",
    ),
    path("auth/mfa/policy/", apis.MfaPolicyApi.as_view(), name="auth-mfa-policy"),
    path("auth/mfa/webauthn/", apis.WebauthnKeysApi.as_view(), name="auth-mfa-webauthn"),
    path(
        "auth/mfa/webauthn/register/",
        apis.WebauthnRegisterApi.as_view(),
        name="auth-mfa-webauthn-register",
    ),
    path(
        "auth/mfa/webauthn/register/complete/",
        apis.WebauthnRegisterCompleteApi.as_view(),
        name="auth-mfa-webauthn-register-complete",
    ),
    path(
        "auth/mfa/webauthn/<int:key_id>/",
        apis.WebauthnKeyApi.as_view(),
        name="auth-mfa-webauthn-key",
    ),
    path(
        "auth/mfa/webauthn/<int:key_id>/remove/",
        apis.WebauthnKeyRemoveApi.as_view(),
        name="auth-mfa-webauthn-key-remove",
    ),
]
