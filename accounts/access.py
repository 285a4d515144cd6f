"""Who may act on a tenant, answered from Redis on the hot path.

An access token proves who the user was when it was issued; whether they are still an active
member, and with which role, is looked up here on every request: from the cache (no query)
or, on a miss or without Redis, from the database. Membership and user changes delete the
entry after commit, so removal, deactivation and role changes apply at the next request;
a reader racing a change can re-cache the old state for at most ACCESS_CACHE_SECONDS.
"""

from dataclasses import asdict, dataclass
from typing import Any

from django.core.cache import cache

from .models import Membership, User
from .roles import MFA_POLICY_ROLES

ACCESS_CACHE_SECONDS = 60
NOT_A_MEMBER = "none"


@dataclass(frozen=True)
class MemberAccess:
    user_id: int
    email: str
    full_name: str
    role: str
    # The organization's MFA policy asks a second factor of this member's role (accounts.mfa):
    # kept in this entry so the request's one Redis round trip answers it too.
    mfa_required: bool = False

    def as_user(self) -> User:
        """A User carrying the cached fields, usable as request.user and as a foreign key
        target, without a query. Load the row when more is needed."""
        user = User(id=self.user_id, email=self.email, full_name=self.full_name, is_active=True)
        user._state.adding = False
        user._partial = True  # type: ignore[attr-defined]  # User.save refuses it
        return user


def _key(tenant_id: int, user_id: int) -> str:
    return f"access:{tenant_id}:{user_id}"


def access_cache_key(*, tenant_id: int, user_id: int) -> str:
    """The entry's key as stored in Redis (accounts.prefetch reads it with its own script)."""
    return str(cache.make_key(_key(tenant_id, user_id)))


def access_cache_is_member(value: Any) -> bool:
    """Whether a cached entry (decoded) says "an active member"."""
    return isinstance(value, dict)


def member_access_from_db(*, user_id: int, tenant_id: int) -> MemberAccess | None:
    # The organization's MFA policy through its reverse relation (accounts.mfa's MfaPolicy,
    # one row or none per tenant): the same query, and no import of the package that
    # itself reads access.
    row = (
        Membership.objects.filter(user_id=user_id, tenant_id=tenant_id, user__is_active=True)
        .values("user__email", "user__full_name", "role", "tenant__mfa_policy__require_for_admins")
        .first()
    )
    if row is None:
        return None
    policy_on = bool(row["tenant__mfa_policy__require_for_admins"])
    mfa_required = policy_on and row["role"] in MFA_POLICY_ROLES
    return MemberAccess(
        user_id, row["user__email"], row["user__full_name"], row["role"], mfa_required
    )


_UNREAD: Any = object()


def member_access_get(
    *, user_id: int, tenant_id: int, cached: Any = _UNREAD
) -> MemberAccess | None:
    """`cached`: the cache entry when the caller has read it already (accounts.prefetch reads it
    in the request's one Redis round trip; None there means no entry)."""
    if cached is _UNREAD:
        cached = cache.get(_key(tenant_id, user_id))
    if cached == NOT_A_MEMBER:
        return None
    if isinstance(cached, dict):
        return MemberAccess(**cached)
    access = member_access_from_db(user_id=user_id, tenant_id=tenant_id)
    value = asdict(access) if access else NOT_A_MEMBER
    cache.set(_key(tenant_id, user_id), value, timeout=ACCESS_CACHE_SECONDS)
    return access


def member_access_forget(*, user_id: int, tenant_ids: list[int]) -> None:
    cache.delete_many([_key(tenant_id, user_id) for tenant_id in tenant_ids])


def member_access_forget_all(*, tenant_id: int) -> None:
    """Every member's entry of one organization: after a change that applies to all of them
    (its MFA policy)."""
    user_ids = Membership.objects.filter(tenant_id=tenant_id).values_list("user_id", flat=True)
    cache.delete_many([_key(tenant_id, user_id) for user_id in user_ids])
