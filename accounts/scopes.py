"""OAuth2 scopes, in the capability vocabulary of accounts.roles.

A token's scopes narrow what its user's role allows (TenantGrant.scope_capabilities); they
never widen it. A user may grant a scope only if their role holds every capability the scope
stands for: a viewer can grant `read` but not `write`, a billing user `billing` but not
`read` (its role has no resources:read).
"""

from collections.abc import Iterable
from typing import Any

from oauth2_provider.scopes import BaseScopes

from .roles import Capability, capabilities_of

C = Capability

SCOPES: dict[str, str] = {
    "read": "Read the organization's resources, members and billing",
    "write": "Create and change the organization's resources",
    "billing": "See and manage the organization's billing",
    "admin": "Manage members and OAuth applications; read the audit log",
}

SCOPE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    "read": frozenset({C.RESOURCES_READ, C.MEMBERS_READ, C.BILLING_READ, C.MEMBERSHIP_SELF}),
    "write": frozenset({C.RESOURCES_WRITE}),
    "billing": frozenset({C.BILLING_READ, C.BILLING_MANAGE}),
    "admin": frozenset({C.MEMBERS_MANAGE, C.OAUTH_APPS_MANAGE, C.AUDIT_READ}),
}

SCOPE_CHOICES = [(name, name) for name in SCOPES]


def scope_list(value: str | None) -> list[str]:
    """ "read write" -> ["read", "write"], in the canonical order, unknown names dropped."""
    names = set((value or "").split())
    return [name for name in SCOPES if name in names]


def scope_string(scopes: Iterable[str]) -> str:
    return " ".join(scope_list(" ".join(scopes)))


def capabilities_of_scopes(scopes: Iterable[str]) -> frozenset[Capability]:
    allowed: frozenset[Capability] = frozenset()
    for name in scopes:
        allowed |= SCOPE_CAPABILITIES.get(name, frozenset())
    return allowed


def scopes_grantable_by(role: str) -> frozenset[str]:
    held = capabilities_of(role)
    return frozenset(name for name, needed in SCOPE_CAPABILITIES.items() if needed <= held)


class TenantScopes(BaseScopes):
    """DOT's scopes backend: an application may ask for the scopes it was registered with;
    asked for none, it gets all of them (narrowed further by the authorizing user's role in
    accounts.oauth.validators)."""

    def get_all_scopes(self) -> dict[str, str]:
        return SCOPES

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return application.allowed_scope_list if application is not None else list(SCOPES)

    def get_default_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return self.get_available_scopes(application, request)
