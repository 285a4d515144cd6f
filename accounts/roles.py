"""What each role may do, as capabilities. Endpoints ask for a capability, never a role, so
OAuth2 scopes can narrow a grant with the same vocabulary (accounts.oauth maps scopes here).

owner > admin > member > viewer for the product and the team; billing is a side role that
reaches billing and nothing else.
"""

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    BILLING = "billing", "Billing"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class Capability(StrEnum):
    RESOURCES_READ = "resources:read"
    RESOURCES_WRITE = "resources:write"
    MEMBERS_READ = "members:read"
    MEMBERS_MANAGE = "members:manage"
    BILLING_READ = "billing:read"
    BILLING_MANAGE = "billing:manage"
    OAUTH_APPS_MANAGE = "oauth_apps:manage"
    AUDIT_READ = "audit:read"
    OWNERSHIP_TRANSFER = "ownership:transfer"
    MEMBERSHIP_SELF = "membership:self"  # leave, see oneself: every role has it


C = Capability
_VIEWER = frozenset({C.MEMBERSHIP_SELF, C.RESOURCES_READ, C.MEMBERS_READ, C.BILLING_READ})
_MEMBER = _VIEWER | {C.RESOURCES_WRITE}
_BILLING = frozenset({C.MEMBERSHIP_SELF, C.BILLING_READ, C.BILLING_MANAGE})
_ADMIN = _MEMBER | _BILLING | {C.MEMBERS_MANAGE, C.OAUTH_APPS_MANAGE, C.AUDIT_READ}
_OWNER = _ADMIN | {C.OWNERSHIP_TRANSFER}

ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.OWNER: _OWNER,
    Role.ADMIN: _ADMIN,
    Role.BILLING: _BILLING,
    Role.MEMBER: _MEMBER,
    Role.VIEWER: _VIEWER,
}

# Who may hand out which role: nobody grants more than they hold, and "owner" only moves by
# an ownership transfer.
ASSIGNABLE_ROLES: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset({Role.ADMIN, Role.BILLING, Role.MEMBER, Role.VIEWER}),
    Role.ADMIN: frozenset({Role.ADMIN, Role.BILLING, Role.MEMBER, Role.VIEWER}),
}


def capabilities_of(role: str) -> frozenset[Capability]:
    return ROLE_CAPABILITIES.get(role, frozenset())


# Roles an invitation or role change may name (the owner only changes by transfer).
ASSIGNABLE_ROLE_CHOICES = [(role, label) for role, label in Role.choices if role != Role.OWNER]

# The roles an organization's MFA policy can require a second factor of (accounts.mfa).
MFA_POLICY_ROLES = frozenset({Role.OWNER, Role.ADMIN})
