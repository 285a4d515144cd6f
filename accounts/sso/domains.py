"""Proving an SSO email domain: the organization publishes its domain's token in a DNS TXT
record (`_saas-challenge.<domain>`) or serves it over HTTP
(`http://<domain>/.well-known/saas-sso-domain-verification`), and asks us to check. The checks
are the custom domains' own (tenants.domains.checks: bounded, no redirects, public addresses
only outside dev and test, safe against DNS rebinding), run outside any transaction; the
outcome is recorded in one.

What verification decides (accounts.sso.services reads `verified_at`): only a verified domain
lets the organization's provider sign its people in, provision them just in time, or hold
them to an enforced policy. A listed, unverified domain is a claim that does nothing, so an
organization cannot capture the sign-ins, or lock out the password users, of a domain it does
not own.

Squatting: several organizations may list a domain nobody has proven (listing it tells
nobody that another did); the first to prove it wins it, and every other organization's
claim of it is removed in the same transaction (`sso.domain_claim_removed` in each of their
logs, by the platform, never naming the winner; `sso.domain_verified` in the winner's).
Once verified, the domain is that organization's only: another one listing it is 409
`sso_domain_claimed` (a partial unique index holds it under concurrency)."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.services.entitlements import entitlement_require
from saas.audit.context import SYSTEM
from saas.audit.services import audit_entry_record
from saas.errors import Conflict, NotFound
from tenants.domains.checks import CheckResult, dns_txt_check, http_token_check
from tenants.models import Tenant

from .models import SsoConnection, SsoDomain, VerificationMethod

FEATURE = "sso"
# Not the custom domains' path: one host may prove itself to both, with different tokens.
HTTP_PATH = "/.well-known/saas-sso-domain-verification"


def sso_domain_name(raw: str) -> str:
    """A domain as stored: lower case, no trailing dot."""
    return raw.strip().lower().rstrip(".")


def sso_domain_get(*, tenant: Tenant, domain: str) -> SsoDomain:
    """This organization's claim of `domain`; another organization's is not found."""
    if not SsoConnection.objects.filter(tenant=tenant).exists():
        raise NotFound(
            "Single sign-on is not configured for this organization.", code="sso_not_configured"
        )
    claim = SsoDomain.objects.filter(
        connection__tenant=tenant, domain=sso_domain_name(domain)
    ).first()
    if claim is None:
        raise NotFound(
            "This organization's SSO connection does not list this domain.",
            code="sso_domain_not_found",
        )
    return claim


def _claimed() -> Conflict:
    # Never says whose: that an organization uses a domain is not another one's business.
    return Conflict("Another organization has proven this domain.", code="sso_domain_claimed")


def sso_domain_verify(*, tenant: Tenant, domain: str) -> SsoDomain:
    """Checks the DNS TXT record, then the HTTP token; on success the domain is verified
    (and other organizations' claims of it are removed). A verified domain answers as it is.
    Needs the plan's `sso` feature (402), like configuring the connection. A failed check is
    409 `sso_domain_not_verified` with what each check found (`checks`); nothing changes."""
    claim = sso_domain_get(tenant=tenant, domain=domain)
    if claim.verified_at is not None:
        return claim
    entitlement_require(tenant=tenant, feature=FEATURE)
    method, checks = _check(claim)
    if method is None:
        raise Conflict(
            f"{claim.domain} is not verified yet: publish the TXT record or serve the token "
            "over HTTP, then try again.",
            code="sso_domain_not_verified",
            extra={"checks": {kind: result.found for kind, result in checks.items()}},
        )
    try:
        with transaction.atomic():
            return _verified(tenant=tenant, checked=claim, method=method)
    except IntegrityError as exc:  # proven elsewhere by a claim made while we checked
        raise _claimed() from exc


def _verified(*, tenant: Tenant, checked: SsoDomain, method: str) -> SsoDomain:
    entitlement_require(tenant=tenant, feature=FEATURE)
    # Every claim of the name, locked in one order: concurrent verifications (this
    # organization's twice, or two organizations') queue here instead of deadlocking.
    claims = list(
        SsoDomain.objects.select_for_update()
        .filter(domain=checked.domain)
        .select_related("connection__tenant")
        .order_by("pk")
    )
    mine = next((c for c in claims if c.connection.tenant_id == tenant.pk), None)
    proven_elsewhere = any(c.verified_at is not None for c in claims if c is not mine)
    if mine is None and proven_elsewhere:  # removed by the organization that proved it
        raise _claimed()
    if mine is None or mine.token != checked.token:  # removed (or removed and re-added)
        raise Conflict(
            f"{checked.domain} changed while it was being checked; verify it again.",
            code="sso_domain_changed",
        )
    if mine.verified_at is not None:  # a concurrent call of this organization got here first
        return mine
    if proven_elsewhere:
        raise _claimed()
    mine.verified_at = timezone.now()
    mine.verified_by = method
    mine.save(update_fields=["verified_at", "verified_by"])
    others = [c for c in claims if c is not mine]
    for other in others:
        other_id = other.pk
        other.delete()
        audit_entry_record(
            action="sso.domain_claim_removed",
            target_type="sso_domain",
            target_id=other_id,
            changes={"domain": {"before": other.domain, "after": None}},
            tenant=other.connection.tenant,
            actor=SYSTEM,
        )
    audit_entry_record(
        action="sso.domain_verified",
        target_type="sso_domain",
        target_id=mine.pk,
        changes={
            "domain": {"before": mine.domain, "after": mine.domain},
            "verified_at": {"before": None, "after": mine.verified_at},
            "verified_by": {"before": "", "after": method},
            "other_claims_removed": {"before": None, "after": len(others)},
        },
        tenant=tenant,
    )
    return mine


def _check(claim: SsoDomain) -> tuple[str | None, dict[str, CheckResult]]:
    """The method that proved the domain (None if neither did) and what each check found."""
    checks = {VerificationMethod.DNS.value: dns_txt_check(hostname=claim.domain, token=claim.token)}
    if checks[VerificationMethod.DNS].ok:
        return VerificationMethod.DNS, checks
    checks[VerificationMethod.HTTP.value] = http_token_check(
        hostname=claim.domain, token=claim.token, path=HTTP_PATH
    )
    if checks[VerificationMethod.HTTP].ok:
        return VerificationMethod.HTTP, checks
    return None, checks
