"""Audit entries from model signals, so the services that make the changes need not know
about auditing. Each model's values are remembered when it is loaded (post_init, from the
instance's own __dict__: never a query, never a deferred-field load) and compared on save."""

import logging
from typing import Any

from django.apps import apps
from django.db.models import Model
from django.db.models.signals import post_delete, post_init, post_save

from .services import audit_entry_record

logger = logging.getLogger(__name__)

_SNAPSHOT = "_audit_snapshot"
# Bookkeeping that changes on every save and says nothing about what was done.
_IGNORED = {"id", "created_at", "updated_at"}
_BILLING_FIELDS = ("plan_id", "price_id", "status", "cancel_at_period_end", "scheduled_price_id")


def _remember(sender: Any, instance: Model, **kwargs: Any) -> None:
    values = instance.__dict__
    snapshot = {
        f.attname: values[f.attname] for f in sender._meta.concrete_fields if f.attname in values
    }
    setattr(instance, _SNAPSHOT, snapshot)


def _diff(instance: Model, fields: list[str] | tuple[str, ...] | None = None) -> dict[str, Any]:
    before = getattr(instance, _SNAPSHOT, {})
    names = fields or [f.attname for f in instance._meta.concrete_fields]
    changes = {}
    for name in names:
        if name in _IGNORED or name not in before:
            continue
        old, new = before[name], getattr(instance, name)
        if old != new:
            changes[name] = {"before": old, "after": new}
    return changes


def _refresh(instance: Model) -> None:
    _remember(type(instance), instance)


def _started_by_tenant_delete(kwargs: dict[str, Any]) -> bool:
    """A tenant being deleted takes its schema with it: nothing to write the entry into."""
    origin = kwargs.get("origin")
    model: Any = getattr(origin, "model", type(origin))
    meta = getattr(model, "_meta", None)
    return meta is not None and meta.label == "tenants.Tenant"


# --- memberships (public schema) ---


def _membership_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    common = {"target_type": "member", "target_id": instance.user_id, "tenant": instance.tenant}
    if created:
        audit_entry_record(
            action="member.added",
            changes={"role": {"before": None, "after": instance.role}},
            actor_user=instance.user,
            **common,
        )
    else:
        changes = _diff(instance, ["role"])
        if changes:
            role_after = changes["role"]["after"]
            action = "ownership.transferred" if role_after == "owner" else "member.role_changed"
            audit_entry_record(action=action, changes=changes, **common)
    _refresh(instance)


def _membership_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    if _started_by_tenant_delete(kwargs):
        return
    audit_entry_record(
        action="member.removed",
        target_type="member",
        target_id=instance.user_id,
        changes={"role": {"before": instance.role, "after": None}},
        tenant=instance.tenant,
    )


# --- invitations (public schema) ---


def _invitation_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    common = {"target_type": "invitation", "target_id": instance.pk, "tenant": instance.tenant}
    if created:
        changes = {
            "email": {"before": None, "after": instance.email},
            "role": {"before": None, "after": instance.role},
        }
        audit_entry_record(action="invitation.created", changes=changes, **common)
    else:
        changes = _diff(instance, ["accepted_at", "revoked_at"])
        if "accepted_at" in changes:
            from accounts.models import User

            user = User.objects.filter(email__iexact=instance.email).first()
            changes["email"] = {"before": instance.email, "after": instance.email}
            audit_entry_record(
                action="invitation.accepted", changes=changes, actor_user=user, **common
            )
        elif "revoked_at" in changes:
            audit_entry_record(action="invitation.revoked", changes=changes, **common)
    _refresh(instance)


# --- billing (public schema) ---


def _named_billing_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Plan codes and price lookup keys instead of row ids: what a reader recognises."""
    from billing.models import Plan, Price

    lookups = {"plan_id": ("plan", Plan, "code"), "price_id": ("price", Price, "lookup_key")}
    lookups["scheduled_price_id"] = ("scheduled_price", Price, "lookup_key")
    named = {}
    for field, change in changes.items():
        if field not in lookups:
            named[field] = change
            continue
        name, model, attr = lookups[field]
        ids = [v for v in (change["before"], change["after"]) if v is not None]
        labels = dict(model._default_manager.filter(pk__in=ids).values_list("pk", attr))
        named[name] = {side: labels.get(value) for side, value in change.items()}
    return named


def _billing_account_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created:
        changes = _named_billing_changes(_diff(instance, _BILLING_FIELDS))
        if changes:
            audit_entry_record(
                action="billing.subscription_changed",
                target_type="subscription",
                target_id=instance.pk,
                changes=changes,
                tenant=instance.tenant,
            )
    _refresh(instance)


# --- OAuth2 applications (public schema) ---

_APP_FIELDS = ("name", "client_id", "client_type", "authorization_grant_type", "allowed_scopes")


def _oauth_app_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if created:
        changes = {f: {"before": None, "after": getattr(instance, f)} for f in _APP_FIELDS}
        audit_entry_record(
            action="oauth_app.created",
            target_type="oauth_app",
            target_id=instance.pk,
            changes=changes,
            tenant=instance.tenant,
        )
    else:
        changes = _diff(instance, [*_APP_FIELDS, "redirect_uris"])
        if changes:
            audit_entry_record(
                action="oauth_app.updated",
                target_type="oauth_app",
                target_id=instance.pk,
                changes=changes,
                tenant=instance.tenant,
            )
    _refresh(instance)


def _oauth_app_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    if _started_by_tenant_delete(kwargs):
        return
    changes = {f: {"before": getattr(instance, f), "after": None} for f in _APP_FIELDS}
    audit_entry_record(
        action="oauth_app.deleted",
        target_type="oauth_app",
        target_id=instance.pk,
        changes=changes,
        tenant=instance.tenant,
    )


# --- the product's resources (tenant schema: the entry goes next to them) ---


def _resource_handlers(name: str) -> tuple[Any, Any]:
    def saved(sender: Any, instance: Model, created: bool, **kwargs: Any) -> None:
        if created:
            changes = {
                f.attname: {"before": None, "after": getattr(instance, f.attname)}
                for f in instance._meta.concrete_fields
                if f.attname not in _IGNORED
            }
            action = "created"
        else:
            changes = _diff(instance)
            if not changes:
                _refresh(instance)
                return
            action = "updated"
        audit_entry_record(
            action=f"{name}.{action}", target_type=name, target_id=instance.pk, changes=changes
        )
        _refresh(instance)

    def deleted(sender: Any, instance: Model, **kwargs: Any) -> None:
        audit_entry_record(action=f"{name}.deleted", target_type=name, target_id=instance.pk)

    return saved, deleted


def _connect(label: str, saved: Any = None, deleted: Any = None) -> None:
    try:
        model = apps.get_model(label)
    except LookupError:
        logger.debug("audit: %s is not installed; not audited", label)
        return
    uid = f"audit:{label}"
    post_init.connect(_remember, sender=model, dispatch_uid=uid, weak=False)
    if saved:
        post_save.connect(saved, sender=model, dispatch_uid=uid, weak=False)
    if deleted:
        post_delete.connect(deleted, sender=model, dispatch_uid=uid, weak=False)


def audit_signals_connect() -> None:
    _connect("accounts.Membership", _membership_saved, _membership_deleted)
    _connect("accounts.Invitation", _invitation_saved)
    _connect("billing.BillingAccount", _billing_account_saved)
    _connect("accounts.OAuthApplication", _oauth_app_saved, _oauth_app_deleted)
    # Task arrives with saas.workspace's next migration; connected once it exists.
    for label, name in (("workspace.Project", "project"), ("workspace.Task", "task")):
        _connect(label, *_resource_handlers(name))
