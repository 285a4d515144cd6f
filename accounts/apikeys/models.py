"""API keys live in the public schema beside memberships, each row bound to one tenant:
every read filters on it."""

from datetime import datetime

from django.db import models

from ..scopes import scope_list


class ApiKey(models.Model):
    """A bearer key (`sk_live_` + 43 base62 characters, 256 random bits) of one organization.
    Only its SHA-256 is kept (nothing to brute-force at that length); `prefix` is its first
    characters, shown in lists to tell keys apart. It acts as `created_by` with the role they
    hold at each request, narrowed by `scopes`.

    A rotated key names its successor (`rotated_to`, at most one: the unique index makes two
    concurrent rotations end with one winner) and keeps working until `retires_at`."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=24)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.CharField(max_length=100)  # space-separated scope names, canonical order
    # A user id, not a foreign key: the row (and its audit trail) outlives the account. A
    # key whose creator is no longer a member is refused.
    created_by_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    rotated_to = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rotated_from"
    )
    retires_at = models.DateTimeField(null=True, blank=True)
    # To the minute (accounts.apikeys.services.api_key_used): no write per request.
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "-created_at"], name="api_key_tenant")]

    def __str__(self) -> str:
        return f"{self.prefix}... ({self.name})"

    @property
    def scope_names(self) -> list[str]:
        return scope_list(self.scopes)

    @property
    def ends_at(self) -> datetime | None:
        """When it stops working on its own (expiry, or the end of a rotation's overlap)."""
        ends = [moment for moment in (self.expires_at, self.retires_at) if moment is not None]
        return min(ends) if ends else None

    def usable_at(self, now: datetime) -> bool:
        ends = self.ends_at
        return self.revoked_at is None and (ends is None or ends > now)
