"""SCIM tokens and what provisioning remembers of a person. Both live in the public schema
beside Membership, each row bound to one tenant: every read filters on it."""

from django.conf import settings
from django.db import models

from ..roles import Role


class ScimToken(models.Model):
    """A bearer token an identity provider presents at /scim/v2/ on its organization's
    host. Only the SHA-256 of the token is kept (it is 256 random bits, so a plain hash is
    enough: nothing to brute-force); `prefix` is its first characters, shown in lists so an
    admin can tell which token an IdP holds."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    # A user id, not a foreign key: the token outlives its creator's account.
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # When the IdP last called with it, to the minute (accounts.scim.services.scim_token_used).
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "-created_at"], name="scim_token_tenant")]

    def __str__(self) -> str:
        return f"{self.prefix}... ({self.name})"


class ScimUser(models.Model):
    """A person the organization's IdP provisioned. While `active`, the person is a member
    (Membership is the access; this row adds the IdP's externalId). Deactivated, the
    membership is gone (access ends at the next request, as a removal does) and this row keeps
    the role, so `active: true` restores it."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scim_records"
    )
    external_id = models.CharField(max_length=255, null=True, blank=True)
    active = models.BooleanField(default=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="scim_user_tenant_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "external_id"], name="scim_user_external")]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.tenant_id} active={self.active}"
