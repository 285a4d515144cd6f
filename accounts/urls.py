"""Tenant-host routes of the accounts app, under /api/v1/."""

from django.urls import path

from . import apis, team_apis

urlpatterns = [
    path("auth/login/", apis.LoginApi.as_view(), name="auth-login"),
    path("auth/token/refresh/", apis.TokenRefreshApi.as_view(), name="auth-token-refresh"),
    path("auth/logout/", apis.LogoutApi.as_view(), name="auth-logout"),
    path("auth/user/", apis.UserApi.as_view(), name="auth-user"),
    path("auth/password/change/", apis.PasswordChangeApi.as_view(), name="auth-password-change"),
    path("auth/password/reset/", apis.PasswordResetApi.as_view(), name="auth-password-reset"),
    path(
        "auth/password/reset/confirm/",
        apis.PasswordResetConfirmApi.as_view(),
        name="auth-password-reset-confirm",
    ),
    path("members/", team_apis.MemberListApi.as_view(), name="member-list"),
    path("members/me/", team_apis.MemberLeaveApi.as_view(), name="member-leave"),
    path(
        "members/transfer-ownership/",
        team_apis.OwnershipTransferApi.as_view(),
        name="member-transfer-ownership",
    ),
    path("members/<int:user_id>/", team_apis.MemberDetailApi.as_view(), name="member-detail"),
    path("invitations/", team_apis.InvitationListCreateApi.as_view(), name="invitation-list"),
    path(
        "invitations/<int:invitation_id>/",
        team_apis.InvitationRevokeApi.as_view(),
        name="invitation-revoke",
    ),
    path(
        "invitations/<str:token>/accept/",
        team_apis.InvitationAcceptApi.as_view(),
        name="invitation-accept",
    ),
]
