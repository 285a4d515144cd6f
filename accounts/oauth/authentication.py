"""Bearer OAuth2 access tokens (django-oauth-toolkit) on a tenant's API.

A token is accepted only on the host of its application's tenant. It acts as its user (for
client credentials: the admin who registered the application) with the role that user holds
now, narrowed by the token's scopes and by the scopes its application still allows.
"""

from typing import Any

from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from ..access import member_access_get
from ..grants import TenantGrant
from ..mfa.selectors import mfa_enrolled
from ..models import User
from ..scopes import capabilities_of_scopes, scope_list


def _has_bearer(request: Request) -> bool:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    return header[:7].lower() == "bearer "


class TenantOAuth2Authentication(OAuth2Authentication):
    """Runs after TenantJWTAuthentication, which leaves non-JWT bearer values to it."""

    def authenticate(self, request: Request) -> tuple[User, TenantGrant] | None:
        if not _has_bearer(request):
            return None
        result = super().authenticate(request)
        if result is None:
            raise AuthenticationFailed(
                "The access token is invalid or expired.", code="token_invalid"
            )
        token: Any = result[1]
        application = token.application
        tenant = getattr(request, "tenant", None)
        if tenant is None or application is None or application.tenant_id != tenant.pk:
            raise AuthenticationFailed(
                "Token is not valid for this organization.", code="token_wrong_tenant"
            )
        user_id = token.user_id or application.user_id
        access = member_access_get(user_id=user_id, tenant_id=tenant.pk) if user_id else None
        if access is None:
            raise AuthenticationFailed(
                "This account no longer has access to this organization.", code="access_revoked"
            )
        scopes = set(scope_list(token.scope)) & set(application.allowed_scope_list)
        # A token a person gave the application acts with their role, so the organization's
        # MFA policy holds it back as it holds their own sessions: until they have a second
        # factor, which the sign-in page (/o/login/) then always asks for. (How a given
        # token's sign-in went is not recorded by the provider; refreshes make new tokens.)
        # A machine client is no person's login: its scopes limit it. The extra read happens
        # only for the owners and admins the policy covers.
        mfa_pending = (
            access.mfa_required
            and token.user_id is not None
            and not mfa_enrolled(user_id=token.user_id)
        )
        grant = TenantGrant(
            tenant_id=tenant.pk,
            user_id=access.user_id,
            role=access.role,
            kind="oauth2",
            scope_capabilities=capabilities_of_scopes(scopes),
            token_id=str(token.pk),
            client_id=application.client_id,
            mfa_pending=mfa_pending,
        )
        return access.as_user(), grant
