"""Entitlements: what the tenant's plan allows, and how much of it is used.

Limits are enforced here, locally, at the moment something would grow: a project, a seat (an
invitation reserves one, accepting takes one) or a feature. Going over answers 402
`entitlement_exceeded` (billing.errors.EntitlementExceeded), naming the entitlement, the limit
and the plan, so a client can offer the upgrade. Checks lock the tenant's billing account row,
so two concurrent requests cannot both take the last unit.
"""

from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone

from accounts.models import Invitation, Membership
from billing.errors import EntitlementExceeded
from billing.models import BillingAccount, Plan
from saas.workspace.selectors import project_count
from tenants.models import Tenant

SEATS = "seats"
PROJECTS = "projects"
API_REQUESTS_PER_MINUTE = "api_requests_per_minute"
# Shown on/off for every plan, with any other flag a plan names.
KNOWN_FEATURES = ("api", "sso", "scim", "custom_domains", "audit_log")


@dataclass(frozen=True)
class Usage:
    limit: int | None  # None: unlimited
    used: int
    reserved: int = 0  # seats: pending invitations

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used - self.reserved, 0)


@dataclass(frozen=True)
class Entitlements:
    plan: Plan
    seats: Usage
    projects: Usage
    api_requests_per_minute: Usage
    features: dict[str, bool] = field(default_factory=dict)


# ---- reads ------------------------------------------------------------------------------


def _pending_invitations(tenant_id: int) -> int:
    return Invitation.objects.filter(
        tenant_id=tenant_id,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).count()


def seat_count(*, tenant: Tenant) -> int:
    """The seats an organization uses: its members (the owner included)."""
    return Membership.objects.filter(tenant=tenant).count()


def _members(tenant_id: int) -> int:
    return Membership.objects.filter(tenant_id=tenant_id).count()


def _projects() -> int:
    """Projects of the tenant whose schema the connection is on."""
    return project_count()


def entitlements_get(*, tenant: Tenant) -> Entitlements:
    """The plan's limits with current usage (the connection is on the tenant's schema)."""
    from billing.throttling import api_requests_this_minute

    plan = BillingAccount.objects.select_related("plan").get(tenant=tenant).plan
    flags = [*KNOWN_FEATURES, *(f for f in plan.features if f not in KNOWN_FEATURES)]
    return Entitlements(
        plan=plan,
        seats=Usage(plan.seats_limit, _members(tenant.pk), _pending_invitations(tenant.pk)),
        projects=Usage(plan.projects_limit, _projects()),
        api_requests_per_minute=Usage(
            plan.api_requests_per_minute, api_requests_this_minute(tenant_id=tenant.pk)
        ),
        features={flag: flag in plan.features for flag in flags},
    )


# ---- enforcement ------------------------------------------------------------------------


def _locked_plan(tenant_id: int) -> Plan:
    """The tenant's plan, holding its billing account row until the caller's transaction
    ends, so counting and then adding is not raced by a concurrent request."""
    if connection.in_atomic_block:
        # No join in the locking query: PostgreSQL would re-check a join against the plan
        # row as it was, and a plan change committed meanwhile would make the row vanish.
        locked = BillingAccount.objects.select_for_update(no_key=True).get(tenant_id=tenant_id)
        return Plan.objects.get(pk=locked.plan_id)
    return BillingAccount.objects.select_related("plan").get(tenant_id=tenant_id).plan


def _refuse(*, entitlement: str, limit: Any, plan: Plan, message: str) -> EntitlementExceeded:
    return EntitlementExceeded(
        f"{message} The {plan.name} plan allows {limit}; upgrade to add more.",
        extra={"entitlement": entitlement, "limit": limit, "plan": plan.code},
    )


def entitlement_require(
    *,
    tenant: Tenant | None = None,
    limit: str | None = None,
    feature: str | None = None,
    count_pending_invitations: bool = True,
) -> None:
    """Refuse (402) unless the plan allows one more of `limit` ("seats" or "projects") or
    includes `feature`. `tenant` defaults to the one whose schema the connection is on.

    Seats: an invitation needs members + pending invitations + 1 <= limit (each pending
    invitation reserves a seat); accepting one (count_pending_invitations=False) needs
    members + 1 <= limit, since its own seat was reserved when it was sent.
    """
    tenant_id = tenant.pk if tenant is not None else connection.tenant.pk  # type: ignore[attr-defined]
    plan = _locked_plan(tenant_id)
    if feature is not None and feature not in plan.features:
        raise EntitlementExceeded(
            f"The {plan.name} plan does not include the {feature!r} feature; upgrade to use it.",
            extra={"entitlement": f"feature:{feature}", "limit": False, "plan": plan.code},
        )
    if limit == PROJECTS and plan.projects_limit is not None:
        if _projects() + 1 > plan.projects_limit:
            raise _refuse(
                entitlement=PROJECTS,
                limit=plan.projects_limit,
                plan=plan,
                message="This organization has reached its project limit.",
            )
    elif limit == SEATS and plan.seats_limit is not None:
        taken = _members(tenant_id)
        if count_pending_invitations:
            taken += _pending_invitations(tenant_id)
        if taken + 1 > plan.seats_limit:
            raise _refuse(
                entitlement=SEATS,
                limit=plan.seats_limit,
                plan=plan,
                message="Every seat is taken (members and pending invitations).",
            )
    elif limit not in (None, PROJECTS, SEATS):
        raise ValueError(f"unknown entitlement {limit!r}")
