"""WebAuthn (security keys and passkeys) for the API: allauth.mfa's WebAuthn pieces (the
user entity, parsing the browser's JSON, the Authenticator row and its wrapper) and fido2's
Fido2Server, with what allauth keeps in the HTML session kept in our own rows instead
(accounts.mfa.models: WebauthnRegistration, MfaChallenge.webauthn_state).

The relying party id is the host the request came in on (a tenant's host, without the
port), as allauth's adapter makes it; the origin of the browser's response must be exactly
that host (scheme https, or http on localhost and *.localhost, with the same port): fido2's
own check would also take any subdomain of the host. A key therefore works on the host it
was enrolled on only, so each key records its relying party id and a login offers the keys
of the host it is made on."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.webauthn.internal.auth import (
    EXTENSIONS,
    WebAuthn,
    build_user_payload,
)
from django.http import HttpRequest
from fido2.rpid import verify_rp_id
from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestedCredentialData,
    AuthenticationResponse,
    AuthenticatorData,
    PublicKeyCredentialRpEntity,
    RegistrationResponse,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts.models import User

RP_ID = "rp_id"
SIGN_COUNT = "sign_count"


class WebauthnRefused(ValueError):
    """The browser's response does not verify (fido2's reasons, never shown to the caller:
    they would only help tune a forgery)."""


@dataclass(frozen=True)
class RelyingParty:
    """Where a ceremony happens: the tenant host (id) and the exact origin it accepts."""

    id: str
    origin_host: str  # host[:port], as the request named it
    name: str

    def verify_origin(self, origin: str) -> bool:
        try:
            parsed = urlparse(origin)
        except ValueError:
            return False
        return parsed.netloc.lower() == self.origin_host and verify_rp_id(self.id, origin)

    def server(self) -> Fido2Server:
        rp = PublicKeyCredentialRpEntity(id=self.id, name=self.name)
        return Fido2Server(rp, verify_origin=self.verify_origin)


def relying_party(*, host: str, name: str) -> RelyingParty:
    """The relying party of a request on `host` (HttpRequest.get_host(): validated against
    ALLOWED_HOSTS and resolved to a tenant by the middleware before we get here)."""
    host = host.lower()
    return RelyingParty(id=host.partition(":")[0], origin_host=host, name=name)


def request_relying_party(request: HttpRequest) -> RelyingParty:
    """The relying party of a request: the tenant host it came in on."""
    tenant = getattr(request, "tenant", None)
    return relying_party(host=request.get_host(), name=getattr(tenant, "name", "") or "SaaS")


def credentials_for(
    *, user_id: int, rp_id: str
) -> list[tuple[Authenticator, AttestedCredentialData]]:
    """The person's keys enrolled for `rp_id`, each with its public credential."""
    found = []
    for authenticator in Authenticator.objects.filter(
        user_id=user_id, type=Authenticator.Type.WEBAUTHN
    ).order_by("pk"):
        if authenticator.data.get(RP_ID) != rp_id:
            continue
        credential = WebAuthn(authenticator).authenticator_data.credential_data
        if credential is not None:
            found.append((authenticator, credential))
    return found


def registration_options(
    *, rp: RelyingParty, user: User, passkey: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(PublicKeyCredentialCreationOptions as JSON, fido2's state to keep server-side). A
    passkey must be resident and verify the user (allauth's passwordless settings); a
    security key as a second factor is asked not to take a resident slot."""
    existing = [credential for _, credential in credentials_for(user_id=user.pk, rp_id=rp.id)]
    options, state = rp.server().register_begin(
        user=build_user_payload(user),
        credentials=existing,  # excludeCredentials: the same key twice is refused
        resident_key_requirement=(
            ResidentKeyRequirement.REQUIRED if passkey else ResidentKeyRequirement.DISCOURAGED
        ),
        user_verification=(
            UserVerificationRequirement.REQUIRED
            if passkey
            else UserVerificationRequirement(mfa_settings.WEBAUTHN_USER_VERIFICATION)
        ),
        extensions=EXTENSIONS,
    )
    return dict(options), dict(state)


def registration_verify(
    *, rp: RelyingParty, state: Mapping[str, Any], credential: Any
) -> tuple[RegistrationResponse, AuthenticatorData]:
    """The browser's attestation checked against the state: type, origin, challenge, RP id
    hash, user presence (and verification when asked). Attestation statements are not
    checked (fido2's default with attestation "none": no vendor allow-list)."""
    try:
        response = RegistrationResponse.from_dict(credential)
        auth_data = rp.server().register_complete(dict(state), response)
    except Exception as exc:  # noqa: BLE001 - untrusted bytes: any parse failure is a refusal
        raise WebauthnRefused(f"{type(exc).__name__}: {exc}") from exc
    if auth_data.credential_data is None:
        raise WebauthnRefused("no credential in the attestation")
    return response, auth_data


def assertion_options(
    *, rp: RelyingParty, credentials: list[AttestedCredentialData]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(PublicKeyCredentialRequestOptions as JSON, fido2's state) for a login's second step,
    allowing the person's keys of this host."""
    options, state = rp.server().authenticate_begin(
        credentials=credentials,
        user_verification=UserVerificationRequirement(mfa_settings.WEBAUTHN_USER_VERIFICATION),
    )
    return dict(options), dict(state)


def assertion_verify(
    *,
    rp: RelyingParty,
    state: Mapping[str, Any],
    credentials: list[AttestedCredentialData],
    assertion: Any,
) -> tuple[AttestedCredentialData, int]:
    """The credential that signed the browser's assertion (type, origin, challenge, RP id
    hash, user presence, signature checked) and the authenticator's signature counter."""
    try:
        response = AuthenticationResponse.from_dict(assertion)
        credential = rp.server().authenticate_complete(dict(state), credentials, response)
    except Exception as exc:  # noqa: BLE001 - untrusted bytes: any parse failure is a refusal
        raise WebauthnRefused(f"{type(exc).__name__}: {exc}") from exc
    return credential, int(response.response.authenticator_data.counter)


def sign_count_advances(*, stored: int, presented: int) -> bool:
    """WebAuthn's signature counter rule: a key that counts must count up (a lower or equal
    value is a replay or a cloned key); a key that always says 0 (synced passkeys) cannot be
    checked this way."""
    if stored == 0 and presented == 0:
        return True
    return presented > stored
