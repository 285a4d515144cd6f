"""Writes for users, memberships and invitations, and the rules of logging in: tokens for a
member of one organization, their rotation, password change and reset. Each write runs in one
transaction, and writes its audit entry (into the organization's log) and, when the member
count changed, marks the billing seat count for a sync, in that transaction."""

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from allauth.account.utils import filter_users_by_email, url_str_to_user_pk, user_pk_to_url_str
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

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
from saas.webhooks_out.payloads import member_data
from saas.webhooks_out.services import webhook_event_record
from tenants.models import Tenant

from .access import member_access_from_db
from .models import Invitation, Membership, Role, User
from .roles import ASSIGNABLE_ROLES
from .tokens import (
    TENANT_CLAIM,
    TenantPasswordResetTokenGenerator,
    TenantRefreshToken,
    tenant_tokens_issue,
)


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


def login_tokens_issue(
    *,
    tenant: Tenant,
    email: str,
    password: str,
    policy: Callable[..., None] | None = None,
) -> tuple[User, RefreshToken]:
    """A JWT pair bound to `tenant` (accounts.tokens) for an active member of it, who proves
    who they are with their email (any case) and password (allauth's backend, through Django's
    authenticate). Every failure (wrong password, unknown address, inactive account, not a
    member of this organization) is the same 401: the answer does not tell which part was
    wrong, whether the account exists, or where it is a member.
    `policy(tenant=, user=, role=)`, once the member is known, may still refuse password
    login (accounts.sso's enforced policy: passed in by the caller, since accounts.sso builds
    on these services).
    last_login is not updated: reset tokens hash it, so updating it would spend every reset
    link sent before the login."""
    user, role = login_credentials_check(
        tenant=tenant, email=email, password=password, policy=policy
    )
    return user, tenant_tokens_issue(user=user, tenant=tenant, role=role)


def login_credentials_check(
    *, tenant: Tenant, email: str, password: str, policy: Callable[..., None] | None = None
) -> tuple[User, str]:
    """The first factor of a login (login_tokens_issue's rules, and accounts.mfa's login
    before its second step): the active member of `tenant` with this email and password, and
    their role there; the one 401 otherwise. `policy` as in login_tokens_issue."""
    user = cast(User | None, authenticate(None, email=email.lower(), password=password))
    if user is None or not user.is_active:
        raise _invalid_credentials()
    access = member_access_from_db(user_id=user.pk, tenant_id=tenant.pk)
    if access is None:
        raise _invalid_credentials()
    if policy is not None:
        policy(tenant=tenant, user=user, role=access.role)
    return user, access.role


def _invalid_credentials() -> NotAuthenticated:
    return NotAuthenticated("Unable to log in with these credentials.", code="invalid_credentials")


def token_pair_refresh(*, tenant: Tenant, raw: str) -> dict[str, str]:
    """A new pair for the refresh token `raw`, which is spent (rotation): using it again is
    refused. Refused too when it is malformed or expired, was issued for another organization,
    or its user is no longer an active member (read from the database, not the access cache),
    each a 401 `token_not_valid` naming the reason."""
    try:
        # simplejwt's hint says Token, but it takes (and here gets) the encoded token.
        refresh = TenantRefreshToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:  # bad signature, expired, wrong type, blacklisted
        raise _token_not_valid(str(exc)) from exc
    if refresh.get(TENANT_CLAIM) != tenant.pk:
        raise _token_not_valid("Token is not valid for this organization.")
    user_id = int(refresh["sub"])
    if member_access_from_db(user_id=user_id, tenant_id=tenant.pk) is None:
        raise _token_not_valid("This account no longer has access to this organization.")
    with transaction.atomic():
        _refresh_token_claim(refresh)
        if not User.objects.filter(pk=user_id, is_active=True).exists():
            raise NotAuthenticated(
                "No active account found for the given token.", code="no_active_account"
            )
        access = str(refresh.access_token)
        refresh.blacklist()
        # The successor: the same claims (user, tenant, role) with a new id and lifetime.
        refresh.set_jti()
        refresh.set_exp()
        refresh.set_iat()
        refresh.outstand()
        return {"access": access, "refresh": str(refresh)}


def _refresh_token_claim(refresh: RefreshToken) -> None:
    """Lock the token's row so two concurrent refreshes with one token cannot both rotate it:
    the second waits, then finds it blacklisted. A token without a row was never issued here
    (or its row was purged) and is refused the same way."""
    outstanding = OutstandingToken.objects.select_for_update().filter(jti=refresh["jti"]).first()
    if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
        raise _token_not_valid("Token is blacklisted.")


def _token_not_valid(message: str) -> NotAuthenticated:
    return NotAuthenticated(message, code="token_not_valid")


@transaction.atomic
def password_change(
    *, user_id: int, old_password: str, new_password1: str, new_password2: str
) -> User:
    """Needs the old password; the new one, given twice, must pass the password validators.
    Every refresh token of the user is revoked after: a stolen session ends with the change."""
    user = User.objects.get(pk=user_id)  # the row, with its password hash
    if not user.check_password(old_password):
        raise _invalid_fields(
            {"old_password": ["Your old password was entered incorrectly. Please enter it again."]}
        )
    _password_set(user=user, new_password1=new_password1, new_password2=new_password2)
    user_tokens_revoke_all(user_id=user.pk)
    return user


@transaction.atomic
def password_reset_request(*, tenant: Tenant, email: str, host: str) -> None:
    """Mail a reset link to the active accounts with this address that are members of
    `tenant`; nothing for anyone else. The caller answers the same either way: the answer does
    not tell whether the address has an account, or is a member here. The link (on `host`,
    through FRONTEND_URL) carries a token of this organization only, and works once."""
    generator = TenantPasswordResetTokenGenerator(tenant_id=tenant.pk)
    for user in filter_users_by_email(email, is_active=True):
        if not Membership.objects.filter(user=user, tenant=tenant).exists():
            continue
        uid, token = user_pk_to_url_str(user), generator.make_token(user)
        url = settings.FRONTEND_URL.format(host=host)
        email_send_later(
            template="password_reset",
            to=user.email,
            context={
                "email": user.email,
                "organization": tenant.name,
                "url": f"{url}/reset-password/{uid}/{token}",
                "expires_minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
            },
        )


@transaction.atomic
def password_reset_confirm(
    *, tenant: Tenant, uid: str, token: str, new_password1: str, new_password2: str
) -> User:
    """Set a new password with the `uid` and `token` of a reset link. The token is checked as
    one of `tenant` (TenantPasswordResetTokenGenerator): a link another organization's host
    sent is just an invalid token here. It works once (it hashes the password this changes)
    and expires (PASSWORD_RESET_TIMEOUT). Every refresh token of the user is revoked after."""
    try:
        user = User.objects.get(pk=url_str_to_user_pk(uid))
    except (TypeError, ValueError, OverflowError, User.DoesNotExist):
        raise _invalid_fields({"uid": ["Invalid value"]}) from None
    if not TenantPasswordResetTokenGenerator(tenant_id=tenant.pk).check_token(user, token):
        raise _invalid_fields({"token": ["Invalid value"]})
    _password_set(user=user, new_password1=new_password1, new_password2=new_password2)
    user_tokens_revoke_all(user_id=user.pk)
    return user


def _password_set(*, user: User, new_password1: str, new_password2: str) -> None:
    """Django's rules for a new password (SetPasswordForm): both entries equal, then the
    password validators (AUTH_PASSWORD_VALIDATORS); their errors are on new_password2."""
    form = SetPasswordForm(
        user, data={"new_password1": new_password1, "new_password2": new_password2}
    )
    if not form.is_valid():
        raise _invalid_fields({field: list(errors) for field, errors in form.errors.items()})
    form.save()


def _invalid_fields(fields: dict[str, Any]) -> InvalidInput:
    """A 400 naming fields, worded as the one for a malformed body."""
    return InvalidInput("Invalid input.", extra={"fields": fields})


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
    webhook_event_record(
        event_type="member.added", data=member_data(membership), tenant=membership.tenant
    )
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
    webhook_event_record(
        event_type="member.role_changed",
        data={"user_id": membership.user_id, "role": membership.role, "previous_role": before},
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
    webhook_event_record(
        event_type="member.removed",
        data={"user_id": user_id, "role": membership.role},
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
    *,
    tenant: Tenant,
    token: str,
    password: str,
    full_name: str = "",
    policy: Callable[..., None] | None = None,
) -> Membership:
    """Join with an invitation. A new address gets an account with `password`; an existing
    account must prove itself with its own password. `policy(tenant=, email=, role=)`, once
    the invitation is known, may refuse a password path (accounts.sso's enforced policy:
    passed in by the caller, since accounts.sso builds on these services)."""
    invitation = _invitation_open(tenant=tenant, token=token)
    if policy is not None:
        policy(tenant=tenant, email=invitation.email, role=invitation.role)
    entitlement_require(tenant=tenant, limit="seats", count_pending_invitations=False)
    user = User.objects.filter(email__iexact=invitation.email).first()
    if user is None:
        user = user_create(email=invitation.email, password=password, full_name=full_name)
    elif not user.is_active or not user.check_password(password):
        raise NotAuthenticated("Wrong password for this account.", code="invalid_credentials")
    _invitation_mark_accepted(invitation, tenant=tenant, user=user)
    try:
        with transaction.atomic():
            return membership_create(user=user, tenant_id=tenant.pk, role=invitation.role)
    except IntegrityError as exc:
        raise Conflict("You are already a member.", code="already_member") from exc


def _invitation_mark_accepted(invitation: Invitation, *, tenant: Tenant, user: User) -> None:
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


def invitation_take_for(*, tenant: Tenant, user: User) -> Invitation | None:
    """The pending invitation to `user`'s email, marked accepted (audited, by them), for a
    person who joins by proving their email another way (accounts.sso's sign-in); None if
    there is none. In the caller's transaction, which adds the membership."""
    invitation = (
        Invitation.objects.select_for_update()
        .filter(
            tenant=tenant,
            email__iexact=user.email,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )
    if invitation is None:
        return None
    _invitation_mark_accepted(invitation, tenant=tenant, user=user)
    return invitation
