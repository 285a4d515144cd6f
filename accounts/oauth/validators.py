"""DOT's request validator, taught about tenants and roles.

Which scopes a token may carry: those its application was registered with, and of these only
the ones the acting user's role may grant (accounts.scopes.scopes_grantable_by). The
acting user is the person approving the authorization request, or, for client credentials,
the admin who registered the application; either must be an active member of the
application's tenant at that moment (read from the database, not the cache).
"""

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator

from ..access import member_access_from_db
from ..models import OAuthApplication
from ..scopes import scopes_grantable_by


def scopes_allowed_for(*, application: OAuthApplication, user_id: int | None) -> set[str] | None:
    """The scopes `user_id` may grant to `application` (None: not a member of its tenant)."""
    if user_id is None:
        return None
    access = member_access_from_db(user_id=user_id, tenant_id=application.tenant_id)
    if access is None:
        return None
    return set(application.allowed_scope_list) & scopes_grantable_by(access.role)


def _acting_user_id(request: Any, client: OAuthApplication) -> int | None:
    if request.grant_type == "client_credentials":
        return client.user_id
    user = getattr(request, "user", None)
    return getattr(user, "pk", None)


class TenantOAuth2Validator(OAuth2Validator):
    def validate_scopes(
        self,
        client_id: str,
        scopes: list[str],
        client: Any,
        request: Any,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        if not scopes or not set(scopes) <= set(client.allowed_scope_list):
            return False
        if request.grant_type != "client_credentials" and getattr(request, "user", None) is None:
            # GET /o/authorize/ validates before anyone has approved: the view checks the
            # logged-in user (accounts.oauth.views); approval (POST) comes back here with them.
            return True
        allowed = scopes_allowed_for(application=client, user_id=_acting_user_id(request, client))
        return allowed is not None and set(scopes) <= allowed

    def get_default_scopes(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> list:
        client = request.client
        user_id = _acting_user_id(request, client)
        allowed = scopes_allowed_for(application=client, user_id=user_id) if user_id else None
        if allowed is None:
            return list(client.allowed_scope_list)
        return [name for name in client.allowed_scope_list if name in allowed]

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        """A refresh token stops working once its user has left the application's tenant."""
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        user_id = getattr(request.user, "pk", None)
        return (
            user_id is None or scopes_allowed_for(application=client, user_id=user_id) is not None
        )
