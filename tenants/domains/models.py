"""A host name an organization asked for. It routes only once verified: verification adds a
tenants.Domain row (not primary), which the host map reads like the primary domain."""

from django.db import models

from tenants.models import Tenant


class DomainStatus(models.TextChoices):
    PENDING = "pending", "Pending verification"
    VERIFIED = "verified", "Verified"


class VerificationMethod(models.TextChoices):
    DNS = "dns", "DNS TXT record"
    HTTP = "http", "HTTP token"


class CustomDomain(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="custom_domains")
    # Normalized (lower-case ASCII, IDNA-encoded, no trailing dot). Unique across every
    # organization: a name one of them has added, verified or not, is taken for the others.
    hostname = models.CharField(max_length=253, unique=True)
    # What the TXT record or the HTTP answer must hold. Not a secret (it is published), but
    # unguessable, so nobody proves a name with a value they did not get from us.
    token = models.CharField(max_length=64)
    status = models.CharField(
        max_length=16, choices=DomainStatus.choices, default=DomainStatus.PENDING
    )
    verified_by = models.CharField(max_length=8, choices=VerificationMethod.choices, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "hostname"], name="custom_domain_tenant_idx")]

    def __str__(self) -> str:
        return self.hostname
