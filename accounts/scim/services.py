"""Writes of SCIM provisioning. Each runs in one transaction. Membership changes go through
accounts.services (membership_create, membership_remove, membership_change_role), which
write their audit entries and mark the seat count for a sync; token changes are audited here.

Deactivating a person removes their membership (their access ends at the next request, as a
removal's does) and keeps a ScimUser row with the role, which reactivation restores. A person
is never deleted: the account may belong to other organizations; DELETE ends the membership
and forgets the row."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from billing.errors import EntitlementExceeded
from billing.services.entitlements import entitlement_require
from saas.audit.services import audit_entry_record
from saas.errors import Conflict
from tenants.models import Tenant

from ..models import Membership, Role, User
from ..services import membership_change_role, membership_create, membership_remove
from .errors import ScimError, forbidden, invalid_value, mutability, uniqueness
from .models import ScimToken, ScimUser
from .protocol import GroupPatch, UserAttributes, UserPatch
from .selectors import (
    TOKEN_PREFIX,
    ScimPerson,
    scim_person_get,
    scim_token_get,
    token_hash,
)

MAX_ACTIVE_TOKENS = 10
# What a provisioned person starts as, and falls back to when removed from a role's group.
DEFAULT_ROLE = Role.MEMBER
# Role changes through SCIM are made with an admin's authority: any role but owner.
_SCIM_AUTHORITY = Role.ADMIN


# ---- tokens ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedToken:
    token: ScimToken
    raw: str  # plain text, this once


def scim_token_create(*, tenant: Tenant, user_id: int, name: str) -> CreatedToken:
    entitlement_require(tenant=tenant, feature="scim")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        # Counted under the billing account's lock entitlement_require would take: a plain
        # count is enough here, the limit is a guard against runaway scripts, not a quota.
        active = ScimToken.objects.filter(tenant=tenant, revoked_at__isnull=True).count()
        if active >= MAX_ACTIVE_TOKENS:
            raise Conflict(
                f"An organization holds at most {MAX_ACTIVE_TOKENS} active SCIM tokens; "
                "revoke one first.",
                code="scim_token_limit",
            )
        token = ScimToken.objects.create(
            tenant=tenant,
            name=name,
            prefix=raw[: len(TOKEN_PREFIX) + 8],
            token_hash=token_hash(raw),
            created_by_id=user_id,
        )
        audit_entry_record(
            action="scim.token_created",
            target_type="scim_token",
            target_id=token.pk,
            changes={
                "name": {"before": None, "after": token.name},
                "prefix": {"before": None, "after": token.prefix},
            },
            tenant=tenant,
        )
    return CreatedToken(token=token, raw=raw)


@transaction.atomic
def scim_token_revoke(*, tenant: Tenant, token_id: int) -> ScimToken:
    """Refused from the next request on. Revoking a revoked token changes nothing."""
    token = scim_token_get(tenant=tenant, token_id=token_id)
    token = ScimToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_entry_record(
            action="scim.token_revoked",
            target_type="scim_token",
            target_id=token.pk,
            changes={"revoked_at": {"before": None, "after": token.revoked_at}},
            tenant=tenant,
        )
    return token


# ---- users -------------------------------------------------------------------------------


# An identity provider syncs in bursts of hundreds of calls: the last use is kept to the
# minute, so a burst costs one UPDATE, not one per call.
LAST_USED_PRECISION = timedelta(minutes=1)


def scim_token_used(*, token: ScimToken) -> None:
    """Records that the IdP called with `token` now, unless already recorded this minute.
    The UPDATE re-checks the age, so two concurrent first calls write once."""
    now = timezone.now()
    stale = now - LAST_USED_PRECISION
    if token.last_used_at is not None and token.last_used_at > stale:
        return
    ScimToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale)
    ).update(last_used_at=now)


def _seat_take(tenant: Tenant) -> None:
    """A seat for one more member; the plan's seat limit answers 403 in SCIM (README)."""
    try:
        entitlement_require(tenant=tenant, limit="seats")
    except EntitlementExceeded as exc:
        raise forbidden(exc.message) from exc


def scim_user_create(*, tenant: Tenant, attributes: UserAttributes) -> ScimPerson:
    """A new address gets an account without a usable password (the person signs in through
    SSO or a password reset); an existing account joins as it is: its password, name and
    other memberships are left alone."""
    try:
        with transaction.atomic():
            user = User.objects.filter(email__iexact=attributes.user_name).first()
            if user is not None:
                if (
                    Membership.objects.filter(tenant=tenant, user=user).exists()
                    or ScimUser.objects.filter(tenant=tenant, user=user, active=False).exists()
                ):
                    raise uniqueness(f"User {attributes.user_name} already exists.")
                # An active record without a membership: the person left or was removed
                # through the API since; provisioning starts over.
                ScimUser.objects.filter(tenant=tenant, user=user).delete()
            if attributes.active:
                _seat_take(tenant)
            if user is None:
                user = User.objects.create_user(
                    email=attributes.user_name, password=None, full_name=attributes.full_name
                )
            ScimUser.objects.create(
                tenant=tenant,
                user=user,
                external_id=attributes.external_id,
                active=attributes.active,
                role=DEFAULT_ROLE,
            )
            if attributes.active:
                membership_create(user=user, tenant_id=tenant.pk, role=DEFAULT_ROLE)
    except IntegrityError as exc:
        # A concurrent create of the same address committed first (the unique indexes on the
        # email, the membership or this row): the answer the check above gives.
        raise uniqueness(f"User {attributes.user_name} already exists.") from exc
    return scim_person_get(tenant=tenant, user_id=user.pk)


def scim_user_replace(*, tenant: Tenant, user_id: int, attributes: UserAttributes) -> ScimPerson:
    """PUT: externalId and active as given (an absent externalId clears it)."""
    return _user_change(
        tenant=tenant,
        user_id=user_id,
        change=UserPatch(
            active=attributes.active,
            external_id=attributes.external_id,
            external_id_set=True,
            user_name=attributes.user_name,
        ),
    )


def scim_user_patch(*, tenant: Tenant, user_id: int, patch: UserPatch) -> ScimPerson:
    return _user_change(tenant=tenant, user_id=user_id, change=patch)


def _locked(tenant: Tenant, user_id: int) -> tuple[Membership | None, ScimUser | None]:
    member = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(tenant=tenant, user_id=user_id)
        .first()
    )
    record = (
        ScimUser.objects.select_for_update()
        .select_related("user")
        .filter(tenant=tenant, user_id=user_id)
        .first()
    )
    if member is None and (record is None or record.active):
        raise ScimError(f"User {user_id} not found.", status=404)
    return member, record


@transaction.atomic
def _user_change(*, tenant: Tenant, user_id: int, change: UserPatch) -> ScimPerson:
    member, record = _locked(tenant, user_id)
    if member is None:
        kept = record
        if kept is None:  # _locked refused this already
            raise ScimError(f"User {user_id} not found.", status=404)
        user = kept.user
    else:
        user = member.user
    if change.user_name is not None and change.user_name != user.email.lower():
        raise mutability("userName is the account's email and cannot change through SCIM.")
    if member is not None and member.role == Role.OWNER and change.active is False:
        raise forbidden("The owner cannot be deactivated; transfer ownership first.")
    if record is None and member is not None:
        # A member who joined otherwise (signup, invitation) is now known to provisioning.
        record = ScimUser(tenant=tenant, user=user, role=member.role, active=True)
    if record is None:  # unreachable: _locked needs a member or a record
        raise ScimError(f"User {user_id} not found.", status=404)
    if change.external_id_set:
        record.external_id = change.external_id
    if change.active is False and member is not None:
        record.role, record.active = member.role, False
        record.save()
        membership_remove(tenant=tenant, user_id=user_id)
    elif change.active is True and member is None:
        _seat_take(tenant)
        record.active = True
        record.save()
        membership_create(user=user, tenant_id=tenant.pk, role=record.role)
    else:
        record.save()
    return scim_person_get(tenant=tenant, user_id=user_id)


@transaction.atomic
def scim_user_delete(*, tenant: Tenant, user_id: int) -> None:
    """Ends the membership and forgets the person here; their account stays."""
    member, record = _locked(tenant, user_id)
    if member is not None and member.role == Role.OWNER:
        raise forbidden("The owner cannot be removed; transfer ownership first.")
    if record is not None:
        record.delete()
    if member is not None:
        membership_remove(tenant=tenant, user_id=user_id)


# ---- groups (roles) ----------------------------------------------------------------------


@transaction.atomic
def scim_group_patch(*, tenant: Tenant, role: str, patch: GroupPatch) -> None:
    """Adding a person to a role's group gives them the role; removing them from it gives
    them DEFAULT_ROLE. The owner is in no group and cannot be moved into one."""
    current = set(
        Membership.objects.filter(tenant=tenant, role=role).values_list("user_id", flat=True)
    )
    # Deactivated people keep the role for their reactivation: a group rewritten without
    # them (PUT, replace, remove all) drops it, as it would drop an active member's.
    kept = set(
        ScimUser.objects.filter(tenant=tenant, active=False, role=role).values_list(
            "user_id", flat=True
        )
    )
    if patch.replace is not None:
        wanted = set(patch.replace)
        to_add, to_remove = wanted - current, (current | kept) - wanted
    else:
        to_add = set(patch.add)
        to_remove = (current | kept) if patch.remove_all else set(patch.remove) - to_add
    for user_id in sorted(to_remove):
        if user_id in current and role != DEFAULT_ROLE:
            _role_set(tenant=tenant, user_id=user_id, role=DEFAULT_ROLE)
        elif user_id not in current:
            _role_of_inactive(tenant=tenant, user_id=user_id, role=None, only_if=role)
    for user_id in sorted(to_add - current):
        _role_set(tenant=tenant, user_id=user_id, role=role)


def _role_set(*, tenant: Tenant, user_id: int, role: str) -> None:
    if not Membership.objects.filter(tenant=tenant, user_id=user_id).exists():
        _role_of_inactive(tenant=tenant, user_id=user_id, role=role)
        return
    try:
        membership_change_role(tenant=tenant, by_role=_SCIM_AUTHORITY, user_id=user_id, role=role)
    except Conflict as exc:  # the owner
        raise forbidden(f"User {user_id} is the owner: {exc.message}") from exc


def _role_of_inactive(
    *, tenant: Tenant, user_id: int, role: str | None, only_if: str | None = None
) -> None:
    """A deactivated person's role, kept for their reactivation."""
    record = (
        ScimUser.objects.select_for_update().filter(tenant=tenant, user_id=user_id, active=False)
    ).first()
    if record is None:
        if only_if is not None:
            return  # removing someone who is not in the group: nothing to do (RFC 7644 3.5.2.2)
        raise invalid_value(f"User {user_id} not found: members must be Users of this service.")
    if only_if is not None and record.role != only_if:
        return
    record.role = role or DEFAULT_ROLE
    record.save(update_fields=["role", "updated_at"])


def scim_group_replace(*, tenant: Tenant, role: str, members: list[int]) -> None:
    scim_group_patch(tenant=tenant, role=role, patch=GroupPatch(replace=members))
