"""The OAuth2 application (client) model, swapped in for django-oauth-toolkit's own
(OAUTH2_PROVIDER_APPLICATION_MODEL): every application belongs to one tenant, and its tokens
are accepted on that tenant's host only. Lives in the public schema, like Membership."""

from typing import Any

from django.conf import settings
from django.db import models
from oauth2_provider.models import AbstractApplication

from .scopes import scope_list


class OAuthApplication(AbstractApplication):
    """`user` (DOT's field) is the admin who registered the application. A client-credentials
    token acts as that user, with their current role, so the application stops working when
    they leave the organization."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",  # no reverse accessor on User: nothing needs one
        verbose_name="user",
    )
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="oauth_applications"
    )
    # The scopes this client may ever ask for, space separated (see accounts.oauth.scopes).
    allowed_scopes = models.CharField(max_length=100, default="read")

    class Meta(AbstractApplication.Meta):
        app_label = "accounts"
        verbose_name = "OAuth application"

    @property
    def allowed_scope_list(self) -> list[str]:
        return scope_list(self.allowed_scopes)

    @property
    def redirect_uri_list(self) -> list[str]:
        return self.redirect_uris.split()

    def is_usable(self, request: Any) -> bool:
        """DOT asks this before issuing a token and on every token check: a machine client
        is usable only while its creator is an active member of its tenant."""
        if self.authorization_grant_type != self.GRANT_CLIENT_CREDENTIALS:
            return True
        from ..access import member_access_get  # accounts.access imports accounts.models

        if self.user_id is None:
            return False
        return member_access_get(user_id=self.user_id, tenant_id=self.tenant_id) is not None
