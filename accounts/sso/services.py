"""Writes of single sign-on: the connection's configuration (owner/admin, on a plan with the
`sso` feature, audited; OpenID Connect or SAML 2.0), and the steps of a login: its start (a
state, nonce and PKCE verifier kept server-side; for SAML the RelayState and the
AuthnRequest's ID), its completion at the callback or the SAML ACS (code exchanged and ID
token checked, or the SAML response verified; the person found or provisioned just in time)
and the one-time code the front end exchanges for the tenant-bound JWT pair. Every refusal is
a 4xx of saas.errors and leaves nothing behind."""

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from billing.selectors import plan_includes
from billing.services.entitlements import entitlement_require
from saas.audit.services import audit_entry_record
from saas.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from tenants.models import Tenant

from ..access import member_access_from_db
from ..models import Membership, Role, User
from ..services import invitation_take_for, membership_create
from ..tokens import SINGLE_SIGN_ON, tenant_tokens_issue
from .crypto import secret_decrypt, secret_encrypt, token_hash
from .http import ProviderError, invalid, provider_get_xml, provider_post_form
from .models import Policy, Protocol, SsoConnection, SsoDomain, SsoLoginCode, SsoLoginState
from .oidc import IdTokenInvalid, discovery_fetch, id_token_verify
from .saml import (
    IdpMetadata,
    ResponseInvalid,
    ResponseMalformed,
    ServiceProvider,
    authn_request,
    metadata_parse,
    response_verify,
)

# What a connection of one protocol keeps empty of the other's.
_OIDC_EMPTY = {
    "issuer": "",
    "client_id": "",
    "authorization_endpoint": "",
    "token_endpoint": "",
    "jwks_uri": "",
    "signing_algorithms": [],
}
_SAML_EMPTY = {
    "idp_metadata_url": "",
    "idp_entity_id": "",
    "idp_sso_url": "",
    "idp_sso_binding": "",
    "idp_certificates": [],
}

FEATURE = "sso"
SCOPES = "openid email profile"
# A DNS name of at least two labels (RFC 1035 letters, digits, hyphens), lower case.
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _domains_clean(domains: list[str]) -> list[str]:
    cleaned: list[str] = []
    for raw in domains:
        domain = raw.strip().lower().rstrip(".")
        if not _DOMAIN.match(domain):
            raise invalid("domains", f"{raw!r} is not a domain name.")
        # Millions of people share a free-mail domain: no organization may claim one.
        if domain in settings.THROTTLE_SIGNUP_DOMAIN_EXEMPT:
            raise invalid("domains", f"{domain} is a shared email provider's domain.")
        if domain not in cleaned:
            cleaned.append(domain)
    if not cleaned:
        raise invalid("domains", "Name at least one email domain.")
    return cleaned


def _domains_claimed_elsewhere(*, tenant: Tenant, domains: list[str]) -> None:
    """A domain another organization has proven is its only; one it merely listed is not
    (accounts.sso.domains: the first to prove it wins it)."""
    taken = sorted(
        SsoDomain.objects.filter(domain__in=domains, verified_at__isnull=False)
        .exclude(connection__tenant=tenant)
        .values_list("domain", flat=True)
    )
    if taken:
        raise Conflict(
            f"Already proven by another organization: {', '.join(taken)}.",
            code="sso_domain_claimed",
            extra={
                "fields": {"domains": [f"{d} is claimed by another organization." for d in taken]}
            },
        )


def sso_connection_configure(
    *,
    tenant: Tenant,
    issuer: str,
    client_id: str,
    client_secret: str | None,
    domains: list[str],
    policy: str,
    default_role: str,
) -> SsoConnection:
    """Create or replace the organization's OIDC connection. The issuer's discovery document
    is fetched and checked before anything is written (an issuer we cannot use is a 400
    naming it); the client secret is required the first time and kept when omitted later;
    each domain may belong to one organization only (409). One transaction: all or nothing."""
    issuer = issuer.strip()
    domains = _domains_clean(domains)
    if default_role == Role.OWNER:
        raise invalid("default_role", "New people cannot join as the owner.")
    with transaction.atomic():  # the plan first: no outside call for an organization without it
        entitlement_require(tenant=tenant, feature=FEATURE)
        _domains_claimed_elsewhere(tenant=tenant, domains=domains)
        # (a SAML connection, which has none, being replaced by an OIDC one needs one too)
        had_secret = (
            SsoConnection.objects.filter(tenant=tenant).exclude(client_secret_encrypted="").exists()
        )
    if client_secret is None and not had_secret:
        raise invalid("client_secret", "Required when the connection is first configured.")
    try:
        discovery = discovery_fetch(issuer)
    except ProviderError as exc:
        raise InvalidInput(
            str(exc), code="sso_issuer_invalid", extra={"fields": {"issuer": [str(exc)]}}
        ) from exc
    try:
        with transaction.atomic():
            return _connection_save(
                tenant=tenant,
                fields={
                    "protocol": Protocol.OIDC,
                    "issuer": issuer,
                    "client_id": client_id,
                    "authorization_endpoint": discovery.authorization_endpoint,
                    "token_endpoint": discovery.token_endpoint,
                    "jwks_uri": discovery.jwks_uri,
                    "signing_algorithms": discovery.signing_algorithms,
                    "policy": policy,
                    "default_role": default_role,
                    **_SAML_EMPTY,
                },
                client_secret=client_secret,
                domains=domains,
            )
    except IntegrityError as exc:
        # Another organization claimed one of the domains after our check: the same answer.
        _domains_claimed_elsewhere(tenant=tenant, domains=domains)
        raise Conflict("The connection changed meanwhile; try again.") from exc


def sso_saml_connection_configure(
    *,
    tenant: Tenant,
    metadata_xml: str | None,
    metadata_url: str | None,
    domains: list[str],
    policy: str,
    default_role: str,
) -> SsoConnection:
    """Create or replace the organization's connection as a SAML 2.0 one, from the IdP's
    metadata given as XML or fetched from `metadata_url` (the same bounded, no-redirect,
    size-limited, public-address-only fetch as OIDC discovery). The metadata is parsed with
    defusedxml (accounts.sso.saml) and checked before anything is written: a 400 naming the
    field otherwise. The same domain rules as OIDC (409 when claimed elsewhere). One
    transaction: all or nothing."""
    domains = _domains_clean(domains)
    if default_role == Role.OWNER:
        raise invalid("default_role", "New people cannot join as the owner.")
    if (metadata_xml is None) == (metadata_url is None):
        message = "Give the IdP metadata either as XML or as a URL."
        raise InvalidInput(
            message,
            extra={"fields": {"idp_metadata_xml": [message], "idp_metadata_url": [message]}},
        )
    with transaction.atomic():  # the plan first: no outside call for an organization without it
        entitlement_require(tenant=tenant, feature=FEATURE)
        _domains_claimed_elsewhere(tenant=tenant, domains=domains)
    field = "idp_metadata_xml" if metadata_xml is not None else "idp_metadata_url"
    try:
        if metadata_url is not None:
            metadata_url = metadata_url.strip()
            metadata = metadata_parse(provider_get_xml(metadata_url, what="IdP metadata"))
        else:
            metadata = metadata_parse((metadata_xml or "").encode())
    except ProviderError as exc:
        raise InvalidInput(
            str(exc), code="sso_metadata_invalid", extra={"fields": {field: [str(exc)]}}
        ) from exc
    try:
        with transaction.atomic():
            return _connection_save(
                tenant=tenant,
                fields={
                    "protocol": Protocol.SAML,
                    **_OIDC_EMPTY,
                    "idp_metadata_url": metadata_url or "",
                    "idp_entity_id": metadata.entity_id,
                    "idp_sso_url": metadata.sso_url,
                    "idp_sso_binding": metadata.sso_binding,
                    "idp_certificates": metadata.certificates,
                    "policy": policy,
                    "default_role": default_role,
                },
                client_secret=None,
                domains=domains,
                clear_secret=True,
            )
    except IntegrityError as exc:
        _domains_claimed_elsewhere(tenant=tenant, domains=domains)
        raise Conflict("The connection changed meanwhile; try again.") from exc


def _connection_save(
    *,
    tenant: Tenant,
    fields: dict[str, Any],
    client_secret: str | None,
    domains: list[str],
    clear_secret: bool = False,
) -> SsoConnection:
    entitlement_require(tenant=tenant, feature=FEATURE)
    connection = SsoConnection.objects.select_for_update().filter(tenant=tenant).first()
    before: dict[str, Any] = {}
    if connection is None:
        connection = SsoConnection(tenant=tenant)
    else:
        before = {name: getattr(connection, name) for name in fields}
        before["domains"] = sorted(connection.domains.values_list("domain", flat=True))
    for name, value in fields.items():
        setattr(connection, name, value)
    if client_secret is not None:
        connection.client_secret_encrypted = secret_encrypt(client_secret)
    elif clear_secret:
        connection.client_secret_encrypted = ""
    connection.save()
    connection.domains.exclude(domain__in=domains).delete()
    existing = set(connection.domains.values_list("domain", flat=True))
    SsoDomain.objects.bulk_create(
        [SsoDomain(connection=connection, domain=d) for d in domains if d not in existing]
    )
    after = {**fields, "domains": sorted(domains)}
    changes = {
        name: {"before": before.get(name), "after": value}
        for name, value in after.items()
        # (an empty field that stays empty is no change, whatever its type)
        if (before.get(name) or None) != (value or None)
        and name not in ("authorization_endpoint", "token_endpoint", "idp_certificates")
    }
    if (before.get("idp_certificates") or []) != (fields.get("idp_certificates") or []):
        # The IdP's signing certificates changed: how many, not their bytes.
        changes["idp_certificates"] = {
            "before": len(before.get("idp_certificates") or []),
            "after": len(fields.get("idp_certificates") or []),
        }
    if client_secret is not None:
        # That a secret was set, never its value.
        changes["secret_rotated"] = {"before": None, "after": True}
    audit_entry_record(
        action="sso.configured",
        target_type="sso_connection",
        target_id=connection.pk,
        changes=changes,
        tenant=tenant,
    )
    return connection


@transaction.atomic
def sso_connection_delete(*, tenant: Tenant) -> None:
    """Deleting needs no plan (an organization that lost the feature can still clean up):
    password login applies again to everyone, and the domains are free to be claimed."""
    connection = SsoConnection.objects.select_for_update().filter(tenant=tenant).first()
    if connection is None:
        raise NotFound("Single sign-on is not configured.", code="sso_not_configured")
    domains = sorted(connection.domains.values_list("domain", flat=True))
    connection_id = connection.pk
    connection.delete()
    audit_entry_record(
        action="sso.deleted",
        target_type="sso_connection",
        target_id=connection_id,
        changes={
            "protocol": {"before": connection.protocol, "after": None},
            "issuer": {"before": connection.issuer or connection.idp_entity_id, "after": None},
            "domains": {"before": domains, "after": None},
        },
        tenant=tenant,
    )


def _connection_of(tenant: Tenant) -> SsoConnection:
    connection = SsoConnection.objects.filter(tenant=tenant).first()
    if connection is None:
        raise NotFound(
            "Single sign-on is not configured for this organization.", code="sso_not_configured"
        )
    return connection


def _domain_of(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower().rstrip(".") if "@" in email else ""


def _email_covered_check(connection: SsoConnection, email: str) -> None:
    """An email given to start a login must be in one of the connection's proven domains."""
    if not email:
        return
    listed = connection.domains.filter(domain=_domain_of(email)).first()
    if listed is None:
        raise InvalidInput(
            "This email's domain does not sign in through this organization's provider.",
            code="sso_domain_not_covered",
            extra={"fields": {"email": ["Not in the organization's SSO domains."]}},
        )
    if listed.verified_at is None:
        raise _unverified(InvalidInput)


@dataclass(frozen=True)
class LoginStart:
    """Where the browser goes: `url` by a redirect, or, when `form` is set (an IdP with the
    HTTP-POST binding only), by posting `form` to `url`."""

    url: str
    form: dict[str, str] | None = None


def sso_login_begin(
    *, tenant: Tenant, redirect_uri: str, sp: ServiceProvider, email: str = ""
) -> LoginStart:
    """Begin a login with the organization's connection, whichever its protocol."""
    connection = _connection_of(tenant)
    if connection.protocol == Protocol.SAML:
        return sso_saml_login_start(tenant=tenant, sp=sp, email=email)
    return LoginStart(sso_login_start(tenant=tenant, redirect_uri=redirect_uri, email=email))


def _idp(connection: SsoConnection) -> IdpMetadata:
    return IdpMetadata(
        entity_id=connection.idp_entity_id,
        sso_url=connection.idp_sso_url,
        sso_binding=connection.idp_sso_binding,
        certificates=list(connection.idp_certificates),
    )


@transaction.atomic
def sso_saml_login_start(*, tenant: Tenant, sp: ServiceProvider, email: str = "") -> LoginStart:
    """An AuthnRequest to the organization's SAML IdP, with a RelayState kept (as its hash)
    for this organization, single use, for SSO_LOGIN_TTL_SECONDS, with the request's ID the
    answer's InResponseTo must name."""
    connection = _connection_of(tenant)
    entitlement_require(tenant=tenant, feature=FEATURE)
    _email_covered_check(connection, email.strip())
    relay_state = secrets.token_urlsafe(32)
    request = authn_request(sp, _idp(connection), relay_state)
    SsoLoginState.objects.filter(expires_at__lt=timezone.now()).delete()  # the stale ones
    SsoLoginState.objects.create(
        tenant=tenant,
        state_hash=token_hash(relay_state),
        nonce="",
        code_verifier="",
        request_id=request.id,
        redirect_uri=sp.acs_url,
        expires_at=timezone.now() + timedelta(seconds=settings.SSO_LOGIN_TTL_SECONDS),
    )
    return LoginStart(request.url, request.form)


@transaction.atomic
def sso_login_start(*, tenant: Tenant, redirect_uri: str, email: str = "") -> str:
    """Begin a login at the organization's provider: the URL to send the person to. The
    state (kept as its hash), nonce and PKCE verifier stay here, bound to this organization,
    for SSO_LOGIN_TTL_SECONDS; the callback spends them once. `email`, when given, must be in
    the connection's domains (a person of another company is told at once), and is passed to
    the provider as the login hint."""
    connection = _connection_of(tenant)
    entitlement_require(tenant=tenant, feature=FEATURE)
    email = email.strip()
    _email_covered_check(connection, email)
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    SsoLoginState.objects.filter(expires_at__lt=timezone.now()).delete()  # the stale ones
    SsoLoginState.objects.create(
        tenant=tenant,
        state_hash=token_hash(state),
        nonce=nonce,
        code_verifier=verifier,
        redirect_uri=redirect_uri,
        expires_at=timezone.now() + timedelta(seconds=settings.SSO_LOGIN_TTL_SECONDS),
    )
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = {
        "response_type": "code",
        "client_id": connection.client_id,
        "redirect_uri": redirect_uri,
        "scope": SCOPES,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    if email:
        query["login_hint"] = email
    parts = urlsplit(connection.authorization_endpoint)
    joined = f"{parts.query}&{urlencode(query)}" if parts.query else urlencode(query)
    return urlunsplit(parts._replace(query=joined))


def _state_spend(*, tenant: Tenant, state: str) -> SsoLoginState:
    """The login `state` names, deleted in a transaction of its own: whatever happens next, it
    cannot be used again. Another organization's state is as unknown as a made-up one."""
    with transaction.atomic():
        found = (
            SsoLoginState.objects.select_for_update()
            .filter(state_hash=token_hash(state), tenant=tenant)
            .first()
        )
        if found is None:
            raise InvalidInput(
                "Unknown or already used login state; start the login again.",
                code="sso_state_invalid",
            )
        found.delete()
    if found.expires_at <= timezone.now():
        raise InvalidInput("This login took too long; start again.", code="sso_state_expired")
    return found


def sso_login_complete(*, tenant: Tenant, state: str, code: str, error: str = "") -> str:
    """The provider's answer at the callback: spend the state, exchange the code (with the
    PKCE verifier and the client secret), check the ID token and the person's email (verified
    by the provider, in one of the connection's domains), then find or provision the member.
    Returns the one-time code for POST /api/v1/sso/token/."""
    login = _state_spend(tenant=tenant, state=state)
    if error:
        raise InvalidInput(f"The identity provider refused the login ({error}).", code="sso_denied")
    if not code:
        raise invalid("code", "The provider sent no authorization code.")
    connection = _connection_of(tenant)
    if connection.protocol != Protocol.OIDC or login.request_id:
        raise InvalidInput(
            "This login was not started with OpenID Connect.", code="sso_state_invalid"
        )
    try:
        answer = provider_post_form(
            connection.token_endpoint,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": login.redirect_uri,
                "code_verifier": login.code_verifier,
            },
            auth=(connection.client_id, secret_decrypt(connection.client_secret_encrypted)),
            what="token endpoint",
        )
    except ProviderError as exc:
        raise InvalidInput(
            f"The authorization code was not accepted: {exc}", code="sso_code_refused"
        ) from exc
    raw = answer.get("id_token")
    if not isinstance(raw, str):
        raise InvalidInput("The provider sent no ID token.", code="sso_id_token_invalid")
    try:
        claims = id_token_verify(
            raw,
            issuer=connection.issuer,
            client_id=connection.client_id,
            nonce=login.nonce,
            jwks_uri=connection.jwks_uri,
            algorithms=list(connection.signing_algorithms),
        )
    except (IdTokenInvalid, ProviderError) as exc:
        raise NotAuthenticated(str(exc), code="sso_id_token_invalid") from exc
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise PermissionDenied("The ID token carries no email.", code="sso_email_missing")
    if claims.get("email_verified") is not True:
        raise PermissionDenied(
            "The provider has not verified this email.", code="sso_email_unverified"
        )
    return _member_sign_in(connection=connection, email=User.objects.normalize_email(email))


def sso_saml_login_complete(
    *, tenant: Tenant, relay_state: str, saml_response: str, sp: ServiceProvider
) -> str:
    """The IdP's answer at the assertion consumer service: spend the RelayState (this
    organization's, once: a replayed answer finds it gone, and two posts of the same answer
    race for one row), verify the response (accounts.sso.saml: signature, issuer, audience,
    destination, recipient, InResponseTo of this login's request, validity window), then the
    email in the connection's domains, and find or provision the member. Returns the
    one-time code for POST /api/v1/sso/token/."""
    login = _state_spend(tenant=tenant, state=relay_state)
    connection = _connection_of(tenant)
    if connection.protocol != Protocol.SAML or not login.request_id:
        raise InvalidInput("This login was not started with SAML.", code="sso_state_invalid")
    try:
        email = response_verify(
            saml_response, sp=sp, idp=_idp(connection), request_id=login.request_id
        )
    except ResponseMalformed as exc:
        raise invalid("SAMLResponse", str(exc)) from exc
    except ResponseInvalid as exc:
        raise NotAuthenticated(str(exc), code="sso_assertion_invalid") from exc
    return _member_sign_in(connection=connection, email=User.objects.normalize_email(email))


@transaction.atomic
def _member_sign_in(*, connection: SsoConnection, email: str) -> str:
    tenant = connection.tenant
    entitlement_require(tenant=tenant, feature=FEATURE)
    listed = connection.domains.filter(domain=_domain_of(email)).first()
    if listed is None:
        raise PermissionDenied(
            "This email's domain is not one of the organization's SSO domains.",
            code="sso_email_not_allowed",
        )
    if listed.verified_at is None:  # the provider's word counts for a proven domain only
        raise _unverified(PermissionDenied)
    email = email.lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is not None and not user.is_active:
        raise PermissionDenied("This account is deactivated.", code="account_inactive")
    if user is None or not Membership.objects.filter(user=user, tenant=tenant).exists():
        # Just in time: a new account (no usable password: it signs in through SSO) or an
        # existing one, joining with the connection's default role, within the seat limit.
        entitlement_require(tenant=tenant, limit="seats", count_pending_invitations=False)
        if user is None:
            user = User.objects.create_user(email=email, password=None)
        # Invited, the person joins with the invitation's role (and it is accepted).
        invitation = invitation_take_for(tenant=tenant, user=user)
        role = invitation.role if invitation is not None else connection.default_role
        membership_create(user=user, tenant_id=tenant.pk, role=role)
    one_time = secrets.token_urlsafe(32)
    SsoLoginCode.objects.filter(expires_at__lt=timezone.now()).delete()  # the stale ones
    SsoLoginCode.objects.create(
        tenant=tenant,
        user=user,
        code_hash=token_hash(one_time),
        expires_at=timezone.now() + timedelta(seconds=settings.SSO_CODE_TTL_SECONDS),
    )
    return one_time


@dataclass(frozen=True)
class SsoSignedIn:
    user: User
    refresh: RefreshToken


def sso_token_exchange(*, tenant: Tenant, code: str) -> SsoSignedIn:
    """The JWT pair for a one-time code of this organization's host, once, within
    SSO_CODE_TTL_SECONDS, for a person who is still an active member."""
    with transaction.atomic():
        found = (
            SsoLoginCode.objects.select_for_update()
            .select_related("user")
            .filter(code_hash=token_hash(code), tenant=tenant)
            .first()
        )
        if found is not None:
            found.delete()
    refused = NotAuthenticated("Unknown, used or expired sign-in code.", code="sso_code_invalid")
    if found is None or found.expires_at <= timezone.now() or not found.user.is_active:
        raise refused
    access = member_access_from_db(user_id=found.user_id, tenant_id=tenant.pk)
    if access is None:
        raise refused
    return SsoSignedIn(
        found.user,
        tenant_tokens_issue(user=found.user, tenant=tenant, role=access.role, amr=SINGLE_SIGN_ON),
    )


def _unverified(error: type[InvalidInput] | type[PermissionDenied]) -> Exception:
    return error(
        "This organization has not proven it owns this email's domain yet: sign in with "
        "your password.",
        code="sso_domain_unverified",
    )


def _enforced_for(*, tenant: Tenant, email: str) -> bool:
    """Does the organization enforce single sign-on for `email`: an enforced policy, the
    email's domain one the organization has proven (a merely listed one locks nobody out),
    and a plan that still includes `sso` (after a downgrade the provider's login is 402, so
    enforcing would lock those members out; the policy holds again after an upgrade)."""
    return SsoDomain.objects.filter(
        connection__tenant=tenant,
        connection__policy=Policy.ENFORCED,
        domain=_domain_of(email),
        verified_at__isnull=False,
    ).exists() and plan_includes(tenant=tenant, feature=FEATURE)


def sso_password_login_check(*, tenant: Tenant, user: User, role: str) -> None:
    """Under an enforced policy, a member whose email is in the connection's verified domains
    signs in through the provider only; the owner keeps password login (break-glass: the
    provider may be down or misconfigured, and someone must be able to fix it)."""
    if role == Role.OWNER:
        return
    if _enforced_for(tenant=tenant, email=user.email):
        raise PermissionDenied(
            "This organization requires single sign-on for your email domain: sign in "
            "through /api/v1/sso/login/.",
            code="sso_required",
        )


def sso_invitation_accept_check(*, tenant: Tenant, email: str, role: str) -> None:
    """Accepting an invitation sets (or proves) a password. Under an enforced policy an
    invitee whose email is in one of the organization's verified domains gets no password
    path: 403 `sso_required`, naming the login (`login_url`) that joins them, which completes
    the invitation with its role. Invitations never grant the owner role; the owner's own
    password login (break-glass) is untouched."""
    if role == Role.OWNER or not _enforced_for(tenant=tenant, email=email):
        return
    login_url = f"/api/v1/sso/login/?{urlencode({'email': email})}"
    raise PermissionDenied(
        "This organization requires single sign-on for your email domain: join by signing "
        f"in through its identity provider at {login_url} (your invitation is kept and "
        "gives you its role).",
        code="sso_required",
        extra={"login_url": login_url},
    )
