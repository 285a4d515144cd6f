"""Reads of SCIM tokens, provisioned people and role groups, always within one tenant."""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from saas.errors import NotFound
from tenants.models import Tenant

from ..models import Membership, Role, User
from .errors import not_found
from .filters import EqFilter
from .models import ScimToken, ScimUser

TOKEN_PREFIX = "scim_"  # noqa: S105 - the marker every SCIM token starts with, no secret
# One group per role a member can be given (the owner's role moves only by transfer).
GROUP_ROLES = (Role.ADMIN, Role.BILLING, Role.MEMBER, Role.VIEWER)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def scim_token_list(*, tenant: Tenant) -> QuerySet[ScimToken]:
    return ScimToken.objects.filter(tenant=tenant).order_by("-created_at", "-id")


def scim_token_get(*, tenant: Tenant, token_id: int) -> ScimToken:
    """Another tenant's token is as unknown as a missing one."""
    token = ScimToken.objects.filter(tenant=tenant, pk=token_id).first()
    if token is None:
        raise NotFound("No such SCIM token.", code="scim_token_not_found")
    return token


def scim_token_find(*, raw: str) -> ScimToken | None:
    """The unrevoked token `raw` is, of whichever tenant (the caller compares the tenant)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    return (
        ScimToken.objects.filter(token_hash=token_hash(raw), revoked_at__isnull=True)
        .only("id", "tenant_id", "prefix", "last_used_at")
        .first()
    )


@dataclass(frozen=True)
class ScimPerson:
    """A User resource: a member of the tenant, or a person provisioning deactivated."""

    user_id: int
    email: str
    full_name: str
    active: bool
    role: str
    external_id: str | None
    created: datetime
    modified: datetime


def _people_ids(tenant: Tenant) -> QuerySet[User]:
    return User.objects.filter(
        Q(memberships__tenant=tenant) | Q(scim_records__tenant=tenant, scim_records__active=False)
    )


def scim_person_page(
    *, tenant: Tenant, where: EqFilter | None, start: int, count: int
) -> tuple[int, list[ScimPerson]]:
    """(total, the people from the `start`th (1-based), at most `count`), in id order."""
    users = _people_ids(tenant)
    if where is not None and where.attribute == "userName":
        users = users.filter(email__iexact=where.value)  # a bound parameter, never SQL
    elif where is not None and where.attribute == "externalId":
        users = users.filter(scim_records__tenant=tenant, scim_records__external_id=where.value)
    ids = users.order_by("pk").values_list("pk", flat=True).distinct()
    total = ids.count()
    page = list(ids[start - 1 : start - 1 + count]) if count else []
    return total, _people(tenant, page)


def _people(tenant: Tenant, user_ids: list[int]) -> list[ScimPerson]:
    if not user_ids:
        return []
    members = {
        m.user_id: m
        for m in Membership.objects.filter(tenant=tenant, user_id__in=user_ids).select_related(
            "user"
        )
    }
    records = {
        r.user_id: r
        for r in ScimUser.objects.filter(tenant=tenant, user_id__in=user_ids).select_related("user")
    }
    people = []
    for user_id in user_ids:
        member, record = members.get(user_id), records.get(user_id)
        if member is not None:
            people.append(
                ScimPerson(
                    user_id=user_id,
                    email=member.user.email,
                    full_name=member.user.full_name,
                    active=True,
                    role=member.role,
                    external_id=record.external_id if record else None,
                    created=record.created_at if record else member.created_at,
                    modified=max(member.updated_at, record.updated_at)
                    if record
                    else member.updated_at,
                )
            )
        elif record is not None and not record.active:
            people.append(
                ScimPerson(
                    user_id=user_id,
                    email=record.user.email,
                    full_name=record.user.full_name,
                    active=False,
                    role=record.role,
                    external_id=record.external_id,
                    created=record.created_at,
                    modified=record.updated_at,
                )
            )
    return people


def scim_person_get(*, tenant: Tenant, user_id: int) -> ScimPerson:
    people = _people(tenant, [user_id])
    if not people:
        raise not_found(f"User {user_id} not found.")
    return people[0]


def scim_group_members(*, tenant: Tenant, role: str) -> list[tuple[int, str]]:
    """(user id, email) of the members who hold `role`, in id order."""
    return list(
        Membership.objects.filter(tenant=tenant, role=role)
        .order_by("user_id")
        .values_list("user_id", "user__email")
    )


def scim_group_role(*, group_id: str) -> str:
    """The role a group id names (the group's id is its role)."""
    if group_id not in GROUP_ROLES:
        raise not_found(f"Group {group_id!r} not found.")
    return group_id
