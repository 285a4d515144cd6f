"""Writes of OAuth2 applications. Each runs in one transaction.

The client secret is generated here and returned once: DOT stores only its hash
(ClientSecretField), so nobody can show it again.
"""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from oauth2_provider.generators import generate_client_secret

from billing.services.entitlements import entitlement_require
from saas.audit.services import audit_entry_record
from saas.errors import InvalidInput
from tenants.models import Tenant

from ..models import OAuthApplication
from ..scopes import scope_string, scopes_grantable_by
from .selectors import oauth_application_get

App = OAuthApplication
GRANT_TYPES = {
    "authorization-code": App.GRANT_AUTHORIZATION_CODE,
    "client-credentials": App.GRANT_CLIENT_CREDENTIALS,
}
CLIENT_TYPES = (App.CLIENT_CONFIDENTIAL, App.CLIENT_PUBLIC)
# Model field -> API field, for validation messages.
_API_FIELDS = {"authorization_grant_type": "grant_type", "allowed_scopes": "scopes"}


@dataclass(frozen=True)
class RegisteredApplication:
    application: OAuthApplication
    client_secret: str  # plain text, this once


def oauth_application_create(
    *,
    tenant: Tenant,
    user_id: int,
    by_role: str,
    name: str,
    grant_type: str,
    redirect_uris: list[str],
    scopes: list[str],
    client_type: str = App.CLIENT_CONFIDENTIAL,
) -> RegisteredApplication:
    _check_scopes(scopes=scopes, by_role=by_role)
    entitlement_require(tenant=tenant, feature="api")
    if grant_type == App.GRANT_CLIENT_CREDENTIALS and client_type != App.CLIENT_CONFIDENTIAL:
        _invalid("client_type", "Client-credentials applications must be confidential.")
    secret = generate_client_secret()
    application = OAuthApplication(
        tenant=tenant,
        user_id=user_id,
        name=name,
        authorization_grant_type=grant_type,
        client_type=client_type,
        redirect_uris=" ".join(redirect_uris),
        allowed_scopes=scope_string(scopes),
        client_secret=secret,
        hash_client_secret=True,
    )
    with transaction.atomic():
        _validate(application)
        application.save()
        _audit(
            "oauth_app.created",
            application_id=application.pk,
            tenant=tenant,
            before=_shown(None),
            after=_shown(application),
        )
    return RegisteredApplication(application=application, client_secret=secret)


# What an entry shows of an application: never its secret.
_AUDITED = (
    "name",
    "client_id",
    "client_type",
    "authorization_grant_type",
    "allowed_scopes",
    "redirect_uris",
)


def _audit(
    action: str,
    *,
    application_id: int,
    tenant: Tenant,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    changes = {f: {"before": before[f], "after": after[f]} for f in before if before[f] != after[f]}
    if changes:
        audit_entry_record(
            action=action,
            target_type="oauth_app",
            target_id=application_id,
            changes=changes,
            tenant=tenant,
        )


def _shown(application: OAuthApplication | None) -> dict[str, Any]:
    return {f: getattr(application, f) if application else None for f in _AUDITED}


def oauth_application_update(
    *,
    tenant: Tenant,
    application_id: int,
    by_role: str,
    name: str | None = None,
    redirect_uris: list[str] | None = None,
    scopes: list[str] | None = None,
) -> OAuthApplication:
    """Narrowing `scopes` narrows tokens already issued too (checked on every request)."""
    with transaction.atomic():
        application = oauth_application_get(tenant=tenant, application_id=application_id)
        application = OAuthApplication.objects.select_for_update().get(pk=application.pk)
        before = _shown(application)
        if name is not None:
            application.name = name
        if redirect_uris is not None:
            application.redirect_uris = " ".join(redirect_uris)
        if scopes is not None:
            _check_scopes(scopes=scopes, by_role=by_role)
            application.allowed_scopes = scope_string(scopes)
        _validate(application)
        application.save()
        _audit(
            "oauth_app.updated",
            application_id=application.pk,
            tenant=tenant,
            before=before,
            after=_shown(application),
        )
    return application


def oauth_application_delete(*, tenant: Tenant, application_id: int) -> None:
    """Its grants and tokens go with it (DOT's foreign keys cascade)."""
    with transaction.atomic():
        application = oauth_application_get(tenant=tenant, application_id=application_id)
        before = _shown(application)
        application.delete()
        _audit(
            "oauth_app.deleted",
            application_id=application_id,
            tenant=tenant,
            before=before,
            after=_shown(None),
        )


def _check_scopes(*, scopes: list[str], by_role: str) -> None:
    beyond = sorted(set(scopes) - scopes_grantable_by(by_role))
    if beyond:
        _invalid("scopes", f"Your role cannot grant: {', '.join(beyond)}.")


def _validate(application: OAuthApplication) -> None:
    """DOT's own checks (redirect URI schemes and shape; a redirect URI is required for the
    authorization-code grant) reported per API field."""
    try:
        application.full_clean(exclude=["client_secret", "user", "tenant"])
    except DjangoValidationError as exc:
        fields = {_API_FIELDS.get(key, key): messages for key, messages in exc.message_dict.items()}
        raise InvalidInput(
            "Invalid OAuth application.", code="invalid", extra={"fields": fields}
        ) from exc


def _invalid(field: str, message: str) -> None:
    raise InvalidInput(message, code="invalid", extra={"fields": {field: [message]}})
