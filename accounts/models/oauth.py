"""The OAuth2 application (client) model, swapped in for django-oauth-toolkit's own
(OAUTH2_PROVIDER_APPLICATION_MODEL): every application belongs to one tenant, and its tokens
are accepted on that tenant's host only. Lives in the public schema, like Membership."""

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from oauth2_provider.models import AbstractApplication

from ..scopes import scope_list


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
    # The scopes this client may ever ask for, space separated (see accounts.scopes).
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

    def clean(self) -> None:
        """DOT's checks (scheme, shape, fragment), and no credentials in a redirect URI
        (https://user:secret@host/cb): a secret in a URL ends up in logs and browser history,
        and userinfo makes a link say one host and mean another."""
        errors: dict[str, Any] = {}
        try:
            super().clean()
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if any(_has_userinfo(uri) for uri in self.redirect_uri_list):
            errors.setdefault("redirect_uris", []).append(
                ValidationError(
                    "Redirect URIs must not contain credentials (user:password@).",
                    code="redirect_uri_credentials",
                )
            )
        if errors:
            raise ValidationError(errors)

    def is_usable(self, request: Any) -> bool:
        """DOT asks this before issuing a token and on every token check: a machine client
        is usable only while its creator is an active member of its tenant."""
        if self.authorization_grant_type != self.GRANT_CLIENT_CREDENTIALS:
            return True
        # Imported here: accounts.access reads memberships (accounts.models). DOT calls this
        # model hook; the membership lookup belongs with the access cache.
        from ..access import member_access_get

        if self.user_id is None:
            return False
        return member_access_get(user_id=self.user_id, tenant_id=self.tenant_id) is not None


def _has_userinfo(uri: str) -> bool:
    try:
        return "@" in urlsplit(uri).netloc
    except ValueError:  # not a URL at all: DOT's own check reports it
        return False
