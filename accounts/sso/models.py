"""SSO rows, in the public schema: a connection per organization, the email domains it
covers (each verified by one organization at most), and the two short-lived, single-use
records of a login in progress (the state sent to the provider, then the code handed to the
front end). Secrets are never kept in clear: the client secret is encrypted
(accounts.sso.crypto), states and codes are kept as hashes."""

import secrets

from django.db import models

from accounts.roles import Role


class Policy(models.TextChoices):
    OPTIONAL = "optional", "Optional"
    ENFORCED = "enforced", "Enforced"


class Protocol(models.TextChoices):
    OIDC = "oidc", "OpenID Connect"
    SAML = "saml", "SAML 2.0"


class SsoConnection(models.Model):
    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="sso_connection"
    )
    protocol = models.CharField(max_length=8, choices=Protocol.choices, default=Protocol.OIDC)
    # OpenID Connect (empty on a SAML connection):
    issuer = models.CharField(max_length=2000)
    client_id = models.CharField(max_length=255)
    client_secret_encrypted = models.TextField()
    # From the issuer's discovery document, fetched and checked when the connection is saved.
    authorization_endpoint = models.CharField(max_length=2000)
    token_endpoint = models.CharField(max_length=2000)
    jwks_uri = models.CharField(max_length=2000)
    signing_algorithms = models.JSONField(default=list)
    # SAML 2.0 (empty on an OIDC connection): from the IdP's metadata, given as XML or
    # fetched from idp_metadata_url when the connection is saved.
    idp_metadata_url = models.CharField(max_length=2000, blank=True, default="")
    idp_entity_id = models.CharField(max_length=1024, blank=True, default="")
    idp_sso_url = models.CharField(max_length=2000, blank=True, default="")
    idp_sso_binding = models.CharField(max_length=8, blank=True, default="")  # redirect, post
    idp_certificates = models.JSONField(default=list, blank=True)  # base64 DER
    policy = models.CharField(max_length=16, choices=Policy.choices, default=Policy.OPTIONAL)
    default_role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.tenant_id}:{self.issuer or self.idp_entity_id}"


def domain_token_new() -> str:
    """What the TXT record or the HTTP answer must hold to prove an SSO domain."""
    return secrets.token_urlsafe(24)


class VerificationMethod(models.TextChoices):
    DNS = "dns", "DNS TXT record"
    HTTP = "http", "HTTP token"


class SsoDomain(models.Model):
    """An email domain a connection covers. Listed, it is a claim and does nothing; verified
    (its owner proved it with a DNS TXT record or an HTTP token, accounts.sso.domains), its
    people sign in through the connection, may be provisioned just in time, and are held to an
    enforced policy. Several organizations may list a domain nobody has proven; the first to
    prove it wins it (the others' claims are removed, audited on both sides), and a verified
    domain is one organization's only (a partial unique index)."""

    connection = models.ForeignKey(SsoConnection, on_delete=models.CASCADE, related_name="domains")
    # Lower case, no trailing dot.
    domain = models.CharField(max_length=253)
    # Published by the organization to prove the domain. Not a secret, but unguessable.
    token = models.CharField(max_length=64, default=domain_token_new)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.CharField(max_length=8, choices=VerificationMethod.choices, blank=True)

    class Meta:
        ordering = ["id"]  # as listed
        constraints = [
            models.UniqueConstraint(fields=["connection", "domain"], name="sso_domain_once"),
            models.UniqueConstraint(
                fields=["domain"],
                condition=models.Q(verified_at__isnull=False),
                name="sso_domain_verified_once",
            ),
        ]
        indexes = [models.Index(fields=["domain"], name="sso_domain_name_idx")]

    def __str__(self) -> str:
        return self.domain


class SsoLoginState(models.Model):
    """A login sent to the provider: found again by the hash of the `state` it carries back,
    deleted when used (once), refused after expires_at."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    state_hash = models.CharField(max_length=64, unique=True)
    nonce = models.CharField(max_length=128)
    code_verifier = models.CharField(max_length=128)
    # SAML: the AuthnRequest's ID, which the answer's InResponseTo must name.
    request_id = models.CharField(max_length=128, blank=True, default="")
    redirect_uri = models.CharField(max_length=2000)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"login state of {self.tenant_id}"


class SsoLoginCode(models.Model):
    """The one-time code the landing page exchanges for the JWT pair (POST /sso/token/)."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"sign-in code of {self.user_id} at {self.tenant_id}"
