"""Writes of API keys. Each runs in one transaction and writes its audit entry; the key's
cached state (accounts.apikeys.cache) follows the row after commit.

Who may do what (accounts.apikeys.apis documents it for the API):
- any member, from their own login, makes keys for themselves, with scopes their role can
  grant (a viewer `read`, a billing user `billing`, ...);
- owners and admins (members:manage) see, rename and revoke every key of the organization;
  others only their own;
- only the key's creator rotates it: a rotation hands out a new secret that acts as them.
"""

import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from billing.services.entitlements import entitlement_require
from saas.audit.services import audit_entry_record
from saas.errors import Conflict, InvalidInput, PermissionDenied
from tenants.models import Tenant

from ..scopes import scope_string, scopes_grantable_by
from .cache import entry_replace
from .models import ApiKey
from .selectors import PREFIX_SECRET_CHARS, SECRET_LENGTH, api_key_get, key_hash, key_prefix

MAX_ACTIVE_KEYS = 50
MAX_LIFETIME = timedelta(days=366)
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)
# A script calling in a loop costs one UPDATE a minute, not one per call.
LAST_USED_PRECISION = timedelta(minutes=1)
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    raw: str  # plain text, this once


def _new_secret() -> str:
    return key_prefix() + "".join(secrets.choice(_ALPHABET) for _ in range(SECRET_LENGTH))


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid", extra={"fields": {field: [message]}})


def _check_scopes(*, scopes: list[str], by_role: str) -> None:
    if not scopes:
        raise _invalid("scopes", "Name at least one scope.")
    beyond = sorted(set(scopes) - scopes_grantable_by(by_role))
    if beyond:
        raise _invalid("scopes", f"Your role cannot grant: {', '.join(beyond)}.")


def _check_expiry(expires_at: datetime | None, now: datetime) -> None:
    if expires_at is None:
        return
    if expires_at <= now:
        raise _invalid("expires_at", "Must be in the future.")
    if expires_at > now + MAX_LIFETIME:
        raise _invalid("expires_at", "Must be at most a year ahead.")


def _active(tenant: Tenant, now: datetime) -> int:
    """Keys that are neither revoked, expired nor rotated away."""
    return (
        ApiKey.objects.filter(tenant=tenant, revoked_at__isnull=True, retires_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .count()
    )


def _make(*, tenant: Tenant, user_id: int, name: str, scopes: str, expires_at: datetime | None):
    raw = _new_secret()
    key = ApiKey.objects.create(
        tenant=tenant,
        name=name,
        prefix=raw[: len(key_prefix()) + PREFIX_SECRET_CHARS],
        key_hash=key_hash(raw),
        scopes=scopes,
        created_by_id=user_id,
        expires_at=expires_at,
    )
    return CreatedKey(key=key, raw=raw)


def api_key_create(
    *,
    tenant: Tenant,
    user_id: int,
    by_role: str,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
) -> CreatedKey:
    now = timezone.now()
    _check_scopes(scopes=scopes, by_role=by_role)
    _check_expiry(expires_at, now)
    entitlement_require(tenant=tenant, feature="api")
    with transaction.atomic():
        # Serialized per organization (its row), so two concurrent creations at the cap
        # cannot both pass the count.
        Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
        if _active(tenant, now) >= MAX_ACTIVE_KEYS:
            raise Conflict(
                f"An organization holds at most {MAX_ACTIVE_KEYS} active API keys; "
                "revoke one first.",
                code="api_key_limit",
            )
        created = _make(
            tenant=tenant,
            user_id=user_id,
            name=name,
            scopes=scope_string(scopes),
            expires_at=expires_at,
        )
        key = created.key
        audit_entry_record(
            action="api_key.created",
            target_type="api_key",
            target_id=key.pk,
            changes={
                field: {"before": None, "after": value}
                for field, value in _shown(key).items()
                if value is not None
            },
            tenant=tenant,
        )
    return created


def _shown(key: ApiKey) -> dict[str, object]:
    """What an audit entry shows of a key: never its secret or hash."""
    return {
        "name": key.name,
        "prefix": key.prefix,
        "scopes": key.scope_names,
        "expires_at": key.expires_at,
    }


def _locked(tenant: Tenant, key_id: int, user_id: int, manage_all: bool) -> ApiKey:
    key = api_key_get(tenant=tenant, key_id=key_id, user_id=user_id, manage_all=manage_all)
    return ApiKey.objects.select_for_update().get(pk=key.pk)


@transaction.atomic
def api_key_rename(
    *, tenant: Tenant, key_id: int, user_id: int, manage_all: bool, name: str | None
) -> ApiKey:
    key = _locked(tenant, key_id, user_id, manage_all)
    if name is not None and key.name != name:
        audit_entry_record(
            action="api_key.updated",
            target_type="api_key",
            target_id=key.pk,
            changes={"name": {"before": key.name, "after": name}},
            tenant=tenant,
        )
        key.name = name
        key.save(update_fields=["name"])
    return key


@transaction.atomic
def api_key_revoke(*, tenant: Tenant, key_id: int, user_id: int, manage_all: bool) -> ApiKey:
    """Refused from the next request on. Revoking a revoked key changes nothing."""
    key = _locked(tenant, key_id, user_id, manage_all)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_entry_record(
            action="api_key.revoked",
            target_type="api_key",
            target_id=key.pk,
            changes={
                "prefix": {"before": key.prefix, "after": key.prefix},
                "revoked_at": {"before": None, "after": key.revoked_at},
            },
            tenant=tenant,
        )
    transaction.on_commit(lambda: entry_replace(key))
    return key


def api_key_rotate(
    *,
    tenant: Tenant,
    key_id: int,
    user_id: int,
    manage_all: bool,
    overlap: timedelta = DEFAULT_OVERLAP,
) -> CreatedKey:
    """A successor with the same name, scopes and expiry, returned once; the old key keeps
    working for `overlap` (at most MAX_OVERLAP), then stops. A key is rotated once: a second
    rotation, even a concurrent one, is a 409 (the first one's successor is the live one)."""
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise _invalid("overlap_seconds", f"Must be between 0 and {MAX_OVERLAP.days} days.")
    try:
        with transaction.atomic():
            old = _locked(tenant, key_id, user_id, manage_all)
            if old.created_by_id != user_id:
                raise PermissionDenied(
                    "Only the member who made a key can rotate it (the new key acts as them); "
                    "revoke it instead.",
                    code="api_key_not_yours",
                )
            now = timezone.now()
            if old.rotated_to_id is not None or old.retires_at is not None:
                raise Conflict("This key was rotated already.", code="api_key_rotated")
            if not old.usable_at(now):
                raise Conflict("A revoked or expired key cannot be rotated.", code="api_key_ended")
            created = _make(
                tenant=tenant,
                user_id=old.created_by_id,
                name=old.name,
                scopes=old.scopes,
                expires_at=old.expires_at,
            )
            old.rotated_to = created.key
            old.retires_at = now + overlap
            old.save(update_fields=["rotated_to", "retires_at"])
            audit_entry_record(
                action="api_key.rotated",
                target_type="api_key",
                target_id=old.pk,
                changes={
                    "retires_at": {"before": None, "after": old.retires_at},
                    "rotated_to": {"before": None, "after": created.key.prefix},
                },
                tenant=tenant,
            )
            transaction.on_commit(lambda: entry_replace(old))
    except IntegrityError as exc:  # the successor's unique index: another rotation won
        raise Conflict("This key was rotated already.", code="api_key_rotated") from exc
    return created


def api_key_used(*, key_id: int, last_used_at: datetime | None, ip: str | None) -> None:
    """Records that the key was used now, unless already recorded this minute. The UPDATE
    re-checks the age, so two concurrent first uses write once."""
    now = timezone.now()
    stale = now - LAST_USED_PRECISION
    if last_used_at is not None and last_used_at > stale:
        return
    ApiKey.objects.filter(pk=key_id).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale)
    ).update(last_used_at=now, last_used_ip=ip)
