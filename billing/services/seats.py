"""Seats: how many the tenant uses (its memberships)."""

from accounts.models import Membership
from tenants.models import Tenant


def seat_count(*, tenant: Tenant) -> int:
    return Membership.objects.filter(tenant=tenant).count()
