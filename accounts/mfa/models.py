"""The login's second-step challenges and each organization's MFA policy. Both live in the
public schema, beside users and tenants (the factors themselves are allauth.mfa's
Authenticator rows, one set per person, shared by all of their organizations)."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class MfaPolicy(models.Model):
    """What an organization asks of its members' logins. No row: nothing required."""

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.CASCADE, primary_key=True, related_name="mfa_policy"
    )
    # Owners and admins must log in with a second factor (README, "MFA on the API login").
    require_for_admins = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "MFA policy"
        verbose_name_plural = "MFA policies"

    def __str__(self) -> str:
        return f"MFA policy of tenant {self.tenant_id}"


class MfaChallenge(models.Model):
    """The answer to a right password of an account with MFA: the login finishes with its
    token and a second factor. Only the token's hash is kept; it works once, on the tenant it
    was issued for, until it expires or has seen too many wrong codes."""

    token_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    # The WebAuthn request this login offered (fido2's state: the challenge, the user
    # verification asked for) and the relying party id (the host) it was made for; empty
    # when the person has no security key for that host.
    webauthn_state = models.JSONField(null=True, blank=True)
    webauthn_rp_id = models.CharField(max_length=253, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="mfa_challenge_expires_idx")]

    def __str__(self) -> str:
        return f"MFA challenge {self.pk} of user {self.user_id}"


class WebauthnRegistration(models.Model):
    """A security key enrollment begun on a tenant's host: the creation options' state
    (fido2's: the challenge, the user verification asked for), waiting for the browser's
    attestation. One per person and organization (beginning again replaces it); spent by
    the first complete, right or wrong, and dead after MFA_WEBAUTHN_REGISTRATION_SECONDS."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE)
    rp_id = models.CharField(max_length=253)
    state = models.JSONField()
    passkey = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="webauthn_registration_once")
        ]

    def __str__(self) -> str:
        return f"WebAuthn registration of user {self.user_id} on tenant {self.tenant_id}"
