"""Writes of custom domains. Adding and removing each run in one transaction; verifying runs
its network checks first, outside any transaction (they take up to seconds and hold nothing),
then records the outcome in one.

Routing follows the tenants.Domain rows: verification adds one (not primary) and removal
deletes it, in the same transaction as the custom domain's own row. The host map drops its
hosts when such a row changes (tenants.signals, after the commit), so a verified domain
routes, and a removed one stops, from the next request in every process.
"""

import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.services.entitlements import entitlement_require
from saas.audit.services import audit_entry_record
from saas.errors import Conflict
from tenants.models import Domain, Tenant

from .checks import CheckResult, dns_txt_check, http_token_check
from .hostnames import hostname_validate
from .models import CustomDomain, DomainStatus, VerificationMethod
from .selectors import custom_domain_get

FEATURE = "custom_domains"


def _taken() -> Conflict:
    # Never says whose: that an organization uses a name is not another one's business.
    message = "This domain is taken."
    return Conflict(message, code="domain_taken", extra={"fields": {"hostname": [message]}})


def custom_domain_add(*, tenant: Tenant, hostname: str) -> CustomDomain:
    """A pending domain with a fresh token; it routes once custom_domain_verify proves it."""
    name = hostname_validate(hostname)
    with transaction.atomic():
        entitlement_require(tenant=tenant, feature=FEATURE)
        existing = CustomDomain.objects.filter(hostname=name).values_list("tenant_id", flat=True)
        owner = existing.first()
        if owner == tenant.pk:
            message = "This organization has added this domain already."
            raise Conflict(message, code="domain_exists", extra={"fields": {"hostname": [message]}})
        if owner is not None or Domain.objects.filter(domain=name).exists():
            raise _taken()
        if CustomDomain.objects.filter(tenant=tenant).count() >= settings.CUSTOM_DOMAINS_PER_TENANT:
            raise Conflict(
                f"An organization may have at most {settings.CUSTOM_DOMAINS_PER_TENANT} "
                "custom domains; remove one first.",
                code="domain_limit_reached",
            )
        try:
            with transaction.atomic():
                domain = CustomDomain.objects.create(
                    tenant=tenant, hostname=name, token=secrets.token_urlsafe(24)
                )
        except IntegrityError as exc:  # another organization added it a moment ago
            raise _taken() from exc
        _audit(
            "domain.added",
            domain,
            tenant=tenant,
            hostname=(None, name),
            status=(None, DomainStatus.PENDING),
        )
    return domain


def custom_domain_verify(*, tenant: Tenant, domain_id: int) -> CustomDomain:
    """Checks the DNS TXT record, then the HTTP token; on success the domain routes. A
    failure is a 409 domain_not_verified naming what each check found; nothing changes."""
    domain = custom_domain_get(tenant=tenant, domain_id=domain_id)
    if domain.status == DomainStatus.VERIFIED:
        return domain
    entitlement_require(tenant=tenant, feature=FEATURE)
    method, checks = _check(domain)
    if method is None:
        raise Conflict(
            f"{domain.hostname} is not verified yet: publish the TXT record or serve the token "
            "over HTTP, then try again.",
            code="domain_not_verified",
            extra={"checks": {kind: result.found for kind, result in checks.items()}},
        )
    with transaction.atomic():
        # Removed, or verified by a concurrent call, while we were checking?
        found = custom_domain_get(tenant=tenant, domain_id=domain_id)
        domain = CustomDomain.objects.select_for_update().get(pk=found.pk)
        if domain.status == DomainStatus.VERIFIED:
            return domain
        try:
            with transaction.atomic():
                Domain.objects.create(domain=domain.hostname, tenant=tenant, is_primary=False)
        except IntegrityError as exc:  # routed elsewhere already (an operator's row)
            raise _taken() from exc
        domain.status = DomainStatus.VERIFIED
        domain.verified_by = method
        domain.verified_at = timezone.now()
        domain.save(update_fields=["status", "verified_by", "verified_at", "updated_at"])
        _audit(
            "domain.verified",
            domain,
            tenant=tenant,
            status=(DomainStatus.PENDING, DomainStatus.VERIFIED),
            verified_by=("", method),
        )
    return domain


def _check(domain: CustomDomain) -> tuple[str | None, dict[str, CheckResult]]:
    """The method that proved the domain (None if neither did) and what each check found."""
    checks = {
        VerificationMethod.DNS.value: dns_txt_check(hostname=domain.hostname, token=domain.token)
    }
    if checks[VerificationMethod.DNS].ok:
        return VerificationMethod.DNS, checks
    checks[VerificationMethod.HTTP.value] = http_token_check(
        hostname=domain.hostname, token=domain.token
    )
    if checks[VerificationMethod.HTTP].ok:
        return VerificationMethod.HTTP, checks
    return None, checks


def custom_domain_remove(*, tenant: Tenant, domain_id: int) -> None:
    """Deletes the domain and, if it was verified, its routing row: requests to it are an
    unknown host's 404 from the next request on. Allowed on any plan, so an organization
    that downgraded can still clean up."""
    with transaction.atomic():
        found = custom_domain_get(tenant=tenant, domain_id=domain_id)
        domain = CustomDomain.objects.select_for_update().get(pk=found.pk)
        before = domain.status
        # Per row (not a bulk delete): tenants.signals invalidates the host map after commit.
        for row in Domain.objects.filter(domain=domain.hostname, tenant=tenant, is_primary=False):
            row.delete()
        domain.delete()
        domain.pk = found.pk  # delete() clears it; the entry names the row that was
        _audit(
            "domain.removed",
            domain,
            tenant=tenant,
            hostname=(domain.hostname, None),
            status=(before, None),
        )


def _audit(
    action: str, domain: CustomDomain, *, tenant: Tenant, **changes: tuple[str | None, str | None]
) -> None:
    """An entry in the organization's log; `changes`: field -> (before, after)."""
    audit_entry_record(
        action=action,
        target_type="domain",
        target_id=domain.pk,
        changes={field: {"before": b, "after": a} for field, (b, a) in changes.items()},
        tenant=tenant,
    )
