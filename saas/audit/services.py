"""Writing audit entries. Each service that changes an audited resource calls one of these
itself, inside its own transaction, so an entry exists exactly when the change does, and a
reader of the service sees that it is audited. `AUDITED_ACTIONS` lists every action; an
unknown one is a programming error (tests/audit proves each is written by its service)."""

import json
from dataclasses import replace
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model

from .context import Actor, current_actor
from .models import ActorKind, AuditEntry

# action: what it records. The API documents these (`GET /api/v1/audit-log/?action=`).
AUDITED_ACTIONS: dict[str, str] = {
    "member.added": "A member joined (signup, invitation, operator).",
    "member.role_changed": "A member's role changed.",
    "member.removed": "A member was removed or left.",
    "ownership.transferred": "The owner role moved to another member.",
    "invitation.created": "An invitation was sent.",
    "invitation.revoked": "An invitation was revoked, or replaced by a new one to the address.",
    "invitation.accepted": "An invitation was accepted.",
    "oauth_app.created": "An OAuth2 application was registered.",
    "oauth_app.updated": "An OAuth2 application's name, redirect URIs or scopes changed.",
    "oauth_app.deleted": "An OAuth2 application was deleted (its tokens with it).",
    "sso.configured": (
        "The single sign-on connection was created or changed (issuer, client, domains, "
        "policy, default role; that a new client secret was set, never its value)."
    ),
    "sso.deleted": "The single sign-on connection was deleted.",
    "sso.domain_verified": (
        "An SSO email domain was proven (DNS TXT or HTTP): single sign-on, just-in-time "
        "provisioning and an enforced policy apply to it."
    ),
    "sso.domain_claim_removed": (
        "Another organization proved an SSO email domain this one had listed unverified: "
        "this organization's claim of it was removed."
    ),
    "billing.subscription_changed": "The plan, price, status or cancellation changed.",
    "billing.duplicate_subscription_canceled": (
        "A second subscription (two checkouts paid at once) was canceled and refunded."
    ),
    "organization.updated": "The organization's name or allowed CORS origins changed.",
    "organization.status_changed": (
        "Suspended, reactivated or archived by an operator; read-only or writable again "
        "as payments fail or succeed."
    ),
    "domain.added": "A custom domain was added (pending verification).",
    "domain.verified": "A custom domain was verified: it routes to the organization.",
    "domain.removed": "A custom domain was removed: it no longer routes.",
    "project.created": "A project was created.",
    "project.updated": "A project was edited.",
    "project.deleted": "A project was deleted (its tasks with it).",
    "task.created": "A task was created.",
    "task.updated": "A task was edited.",
    "task.deleted": "A task was deleted.",
    "mfa.totp_enabled": "A member set up an authenticator app (and got recovery codes).",
    "mfa.totp_removed": "A member removed their authenticator app.",
    "mfa.recovery_codes_regenerated": "A member replaced their recovery codes.",
    "mfa.policy_changed": "Requiring a second factor of owners and admins was turned on or off.",
    "mfa.webauthn_added": "A member added a security key or passkey (WebAuthn), by its name.",
    "mfa.webauthn_removed": "A member removed one of their security keys (WebAuthn).",
    "scim.token_created": "A SCIM token was made for the organization's identity provider.",
    "scim.token_revoked": "A SCIM token was revoked.",
    "webhook_endpoint.created": "A webhook endpoint was registered (never its secret).",
    "webhook_endpoint.updated": "A webhook endpoint's URL, events, description or state changed.",
    "webhook_endpoint.deleted": "A webhook endpoint was deleted (its delivery log with it).",
    "webhook_endpoint.secret_rotated": "A webhook endpoint's signing secret was replaced.",
    "webhook_endpoint.disabled": "A webhook endpoint was disabled after failing for too long.",
    "api_key.created": "An API key was made (its name, prefix, scopes and expiry).",
    "api_key.updated": "An API key was renamed.",
    "api_key.rotated": "An API key was rotated: a successor made, the old key retiring.",
    "api_key.revoked": "An API key was revoked.",
}

# Bookkeeping that changes on every save and says nothing about what was done.
_IGNORED = frozenset({"id", "created_at", "updated_at"})


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def audit_entry_record(
    *,
    action: str,
    target_type: str,
    target_id: object,
    changes: dict[str, Any] | None = None,
    tenant: Any = None,
    actor: Actor | None = None,
    actor_user: Any = None,
) -> AuditEntry:
    """Record one entry in the current schema, or in `tenant`'s schema when given (for
    changes to public-schema rows such as memberships). `actor_user` names the person when
    the request has no authenticated one (an invitation being accepted)."""
    if action not in AUDITED_ACTIONS:
        raise ValueError(f"{action!r} is not in AUDITED_ACTIONS")
    who = actor or current_actor()
    if actor_user is not None and who.kind == ActorKind.USER and who.user_id is None:
        who = replace(who, user_id=actor_user.pk, email=actor_user.email)
    entry = AuditEntry(
        actor_id=who.user_id,
        actor_email=who.email,
        actor_kind=who.kind,
        actor_app=who.app,
        action=action,
        target_type=target_type,
        target_id=str(target_id if target_id is not None else ""),
        changes=_jsonable(changes or {}),
        ip=who.ip,
        request_id=who.request_id[:128],
    )
    if tenant is None:
        entry.save()
    else:
        with tenant:
            entry.save()
    return entry


def audit_values(instance: Model, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The instance's audited values (`fields`, or every concrete field but bookkeeping), by
    attribute name: what a service keeps before a change, to pass to `audit_changes`."""
    names = fields or tuple(f.attname for f in instance._meta.concrete_fields)
    return {name: getattr(instance, name) for name in names if name not in _IGNORED}


def audit_changes(before: dict[str, Any], instance: Model) -> dict[str, Any]:
    """{"field": {"before": ..., "after": ...}} for each value in `before` that changed."""
    changes = {}
    for name, old in before.items():
        new = getattr(instance, name)
        if old != new:
            changes[name] = {"before": old, "after": new}
    return changes


def audit_created(instance: Model, *, target_type: str) -> None:
    """`<target_type>.created`, with every value as it was created (a tenant-schema row)."""
    changes = {name: {"before": None, "after": v} for name, v in audit_values(instance).items()}
    audit_entry_record(
        action=f"{target_type}.created",
        target_type=target_type,
        target_id=instance.pk,
        changes=changes,
    )


def audit_updated(
    instance: Model, *, target_type: str, before: dict[str, Any], tenant: Any = None
) -> None:
    """`<target_type>.updated` with what changed since `before`; nothing if nothing did.
    `tenant`: whose log, for a public-schema row (as for `audit_entry_record`)."""
    changes = audit_changes(before, instance)
    if changes:
        audit_entry_record(
            action=f"{target_type}.updated",
            target_type=target_type,
            target_id=instance.pk,
            changes=changes,
            tenant=tenant,
        )


def audit_deleted(*, target_type: str, target_id: object) -> None:
    audit_entry_record(
        action=f"{target_type}.deleted", target_type=target_type, target_id=target_id
    )
