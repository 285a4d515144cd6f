"""What a credential grants on one tenant: the user, the tenant, the role now held and the
capabilities the credential allows. Authentication classes build one; permissions read it."""

from dataclasses import dataclass

from .roles import Capability, capabilities_of


@dataclass(frozen=True)
class TenantGrant:
    tenant_id: int
    user_id: int
    role: str
    kind: str  # "jwt", "oauth2" or "api_key" (accounts.apikeys)
    # None: everything the role allows; a set: also limited to these (OAuth2 or key scopes).
    scope_capabilities: frozenset[Capability] | None = None
    token_id: str | None = None
    client_id: str = ""  # the OAuth2 application's client id; an API key's prefix
    # How the person logged in (the JWT's amr claim; accounts.mfa), and whether the
    # organization's policy asks a second factor this login did not give: then only MFA
    # enrollment, who-am-I and logout are open (TenantApi and the account views check it).
    amr: tuple[str, ...] = ("pwd",)
    mfa_pending: bool = False

    @property
    def capabilities(self) -> frozenset[Capability]:
        allowed = capabilities_of(self.role)
        if self.scope_capabilities is not None:
            allowed = allowed & self.scope_capabilities
        return allowed

    def allows(self, capability: Capability) -> bool:
        return capability in self.capabilities
