"""Writes for users, memberships and invitations. Each runs in one transaction, and writes its
audit entry (into the organization's log) and, when the member count changed, marks the
billing seat count for a sync, in that transaction."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from billing.services.entitlements import entitlement_require
from billing.services.seats import seat_sync_mark_dirty
from saas.audit.services import audit_entry_record
from saas.emails.services import email_about
from saas.errors import (
    Conflict,
    Gone,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
)
from saas.mail import email_send_later
from tenants.models import Tenant

from .models import Invitation, Membership, Role, User
from .roles import ASSIGNABLE_ROLES


def password_check_strength(*, password: str, user: User) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise InvalidInput(
            "Password is too weak.",
            code="weak_password",
            extra={"fields": {"password": exc.messages}},
        ) from exc


def user_create(*, email: str, password: str, full_name: str = "") -> User:
    email = User.objects.normalize_email(email).lower()
    password_check_strength(password=password, user=User(email=email, full_name=full_name))
    if User.objects.filter(email__iexact=email).exists():
        raise _email_taken()
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password, full_name=full_name)
    except IntegrityError as exc:
        # A concurrent request committed this email after the check above (our insert waited
        # on the unique index for it): the same answer the check gives, not a 500.
        if not User.objects.filter(email__iexact=email).exists():
            raise
        raise _email_taken() from exc


def _email_taken() -> Conflict:
    return Conflict(
        "A user with this email already exists.",
        code="email_taken",
        extra={"fields": {"email": ["Already registered."]}},
    )


def user_tokens_revoke_all(*, user_id: int) -> int:
    """Blacklist every refresh token of a user (after a password change or reset)."""
    outstanding = OutstandingToken.objects.filter(user_id=user_id, blacklistedtoken__isnull=True)
    revoked = [BlacklistedToken(token=token) for token in outstanding]
    BlacklistedToken.objects.bulk_create(revoked, ignore_conflicts=True)
    return len(revoked)


@transaction.atomic
def membership_create(*, user: User, tenant_id: int, role: str = Role.MEMBER) -> Membership:
    membership = Membership.objects.create(user=user, tenant_id=tenant_id, role=role)
    audit_entry_record(
        action="member.added",
        target_type="member",
        target_id=user.pk,
        changes={"role": {"before": None, "after": role}},
        tenant=membership.tenant,
        actor_user=user,  # who joined, when no one is logged in (signup, an invitation)
    )
    seat_sync_mark_dirty(tenant_id=tenant_id)
    return membership


def _role_changed(membership: Membership, *, before: str) -> None:
    action = "ownership.transferred" if membership.role == Role.OWNER else "member.role_changed"
    audit_entry_record(
        action=action,
        target_type="member",
        target_id=membership.user_id,
        changes={"role": {"before": before, "after": membership.role}},
        tenant=membership.tenant,
    )


def _membership_for_update(*, tenant: Tenant, user_id: int) -> Membership:
    membership = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(tenant=tenant, user_id=user_id)
        .first()
    )
    if membership is None:
        raise NotFound("No such member.", code="member_not_found")
    return membership


def _check_assignable(*, by_role: str, role: str) -> None:
    if role == Role.OWNER:
        raise InvalidInput(
            "Ownership moves only by transfer.",
            code="owner_by_transfer_only",
            extra={"fields": {"role": ["Use transfer-ownership."]}},
        )
    if role not in ASSIGNABLE_ROLES.get(by_role, frozenset()):
        raise PermissionDenied(f"Your role cannot grant {role}.", code="role_not_assignable")


@transaction.atomic
def membership_change_role(*, tenant: Tenant, by_role: str, user_id: int, role: str) -> Membership:
    _check_assignable(by_role=by_role, role=role)
    membership = _membership_for_update(tenant=tenant, user_id=user_id)
    if membership.role == Role.OWNER:
        raise Conflict(
            "The owner cannot be demoted; transfer ownership first.", code="owner_required"
        )
    before, membership.role = membership.role, role
    membership.save(update_fields=["role", "updated_at"])
    if role != before:
        _role_changed(membership, before=before)
    return membership


@transaction.atomic
def membership_remove(*, tenant: Tenant, user_id: int) -> None:
    """Remove a member (or let one leave). The owner stays: every tenant keeps exactly one."""
    membership = _membership_for_update(tenant=tenant, user_id=user_id)
    if membership.role == Role.OWNER:
        raise Conflict(
            "The owner cannot leave or be removed; transfer ownership first.",
            code="owner_required",
        )
    membership.delete()
    audit_entry_record(
        action="member.removed",
        target_type="member",
        target_id=user_id,
        changes={"role": {"before": membership.role, "after": None}},
        tenant=tenant,
    )
    seat_sync_mark_dirty(tenant_id=tenant.pk)


@transaction.atomic
def ownership_transfer(*, tenant: Tenant, from_user_id: int, to_user_id: int) -> Membership:
    if from_user_id == to_user_id:
        raise InvalidInput("You already own this organization.", code="already_owner")
    current = _membership_for_update(tenant=tenant, user_id=from_user_id)
    target = _membership_for_update(tenant=tenant, user_id=to_user_id)
    if current.role != Role.OWNER:
        raise PermissionDenied("Only the owner can transfer ownership.", code="owner_required")
    # Demote first: the partial unique index allows one owner at any instant.
    current.role = Role.ADMIN
    current.save(update_fields=["role", "updated_at"])
    _role_changed(current, before=Role.OWNER)
    before, target.role = target.role, Role.OWNER
    target.save(update_fields=["role", "updated_at"])
    _role_changed(target, before=before)
    return target


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete an account (an operator, in the admin). Refused while it owns an organization,
    which always keeps its owner (transfer ownership first); each membership ends as a
    removal does, with its audit entry and a seat count sync."""
    memberships = list(
        Membership.objects.select_for_update().filter(user=user).select_related("tenant")
    )
    owned = sorted(m.tenant.slug for m in memberships if m.role == Role.OWNER)
    if owned:
        raise Conflict(
            f"{user.email} owns {', '.join(owned)}: transfer ownership first.",
            code="owner_required",
        )
    for membership in memberships:
        membership_remove(tenant=membership.tenant, user_id=user.pk)
    user.delete()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(*, host: str, token: str) -> str:
    return settings.FRONTEND_URL.format(host=host) + f"/invitations/{token}"


@transaction.atomic
def invitation_create(
    *, tenant: Tenant, by: User, by_role: str, email: str, role: str, host: str
) -> Invitation:
    """Invite an address; a pending invitation to the same address is replaced."""
    _check_assignable(by_role=by_role, role=role)
    email = User.objects.normalize_email(email).lower()
    if Membership.objects.filter(tenant=tenant, user__email__iexact=email).exists():
        raise Conflict("This person is already a member.", code="already_member")
    now = timezone.now()
    replaced = Invitation.objects.select_for_update().filter(
        tenant=tenant, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    )
    for pending in replaced:
        _invitation_revoked(pending, at=now)
    entitlement_require(tenant=tenant, limit="seats")
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        tenant=tenant,
        email=email,
        role=role,
        token_hash=_token_hash(token),
        invited_by_id=by.pk,
        expires_at=now + timedelta(hours=settings.INVITATION_TTL_HOURS),
    )
    audit_entry_record(
        action="invitation.created",
        target_type="invitation",
        target_id=invitation.pk,
        changes={
            "email": {"before": None, "after": email},
            "role": {"before": None, "after": role},
        },
        tenant=tenant,
    )
    email_send_later(
        template="invitation",
        to=email,
        context={
            "inviter": by.full_name or by.email,
            "organization": tenant.name,
            "role": role,
            "url": invitation_url(host=host, token=token),
            "expires_at": invitation.expires_at,
            # If it cannot be sent, the invitation list says so (email_status).
            **email_about(tenant_id=tenant.pk, target_type="invitation", target_id=invitation.pk),
        },
    )
    return invitation


@transaction.atomic
def invitation_revoke(*, tenant: Tenant, invitation_id: int) -> None:
    invitation = (
        Invitation.objects.select_for_update().filter(tenant=tenant, pk=invitation_id).first()
    )
    if invitation is None:
        raise NotFound("No such invitation.", code="invitation_not_found")
    if invitation.status != "pending":
        raise Conflict(f"This invitation is {invitation.status}.", code="invitation_not_pending")
    _invitation_revoked(invitation, at=timezone.now())


def _invitation_revoked(invitation: Invitation, *, at: datetime) -> None:
    invitation.revoked_at = at
    invitation.save(update_fields=["revoked_at"])
    audit_entry_record(
        action="invitation.revoked",
        target_type="invitation",
        target_id=invitation.pk,
        changes={"revoked_at": {"before": None, "after": at}},
        tenant=invitation.tenant,
    )


def _invitation_open(*, tenant: Tenant, token: str) -> Invitation:
    invitation = (
        Invitation.objects.select_for_update()
        .filter(tenant=tenant, token_hash=_token_hash(token))
        .first()
    )
    if invitation is None:  # unknown, or another tenant's
        raise NotFound("No such invitation.", code="invitation_not_found")
    problems = {
        "accepted": ("This invitation was already used.", "invitation_used"),
        "revoked": ("This invitation was revoked.", "invitation_revoked"),
        "expired": ("This invitation has expired.", "invitation_expired"),
    }
    if invitation.status in problems:
        message, code = problems[invitation.status]
        raise Gone(message, code=code)
    return invitation


@transaction.atomic
def invitation_accept(
    *, tenant: Tenant, token: str, password: str, full_name: str = ""
) -> Membership:
    """Join with an invitation. A new address gets an account with `password`; an existing
    account must prove itself with its own password."""
    invitation = _invitation_open(tenant=tenant, token=token)
    entitlement_require(tenant=tenant, limit="seats", count_pending_invitations=False)
    user = User.objects.filter(email__iexact=invitation.email).first()
    if user is None:
        user = user_create(email=invitation.email, password=password, full_name=full_name)
    elif not user.is_active or not user.check_password(password):
        raise NotAuthenticated("Wrong password for this account.", code="invalid_credentials")
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit_entry_record(
        action="invitation.accepted",
        target_type="invitation",
        target_id=invitation.pk,
        changes={
            "accepted_at": {"before": None, "after": invitation.accepted_at},
            "email": {"before": invitation.email, "after": invitation.email},
        },
        tenant=tenant,
        actor_user=user,
    )
    try:
        with transaction.atomic():
            return membership_create(user=user, tenant_id=tenant.pk, role=invitation.role)
    except IntegrityError as exc:
        raise Conflict("You are already a member.", code="already_member") from exc
