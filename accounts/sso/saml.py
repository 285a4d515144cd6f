"""The SAML 2.0 service provider's checks, apart from any storage: an IdP's metadata (parsed
with defusedxml: no DTD, no entity, no external reference), the AuthnRequest we send, our SP
metadata, and the IdP's answer at the assertion consumer service.

python3-saml (OneLogin's toolkit, over xmlsec and lxml) verifies the answer, in strict mode:
an XML signature on the Response or the Assertion by one of the IdP's certificates (SHA-1
refused; an answer with no signature refused; one signature per element, referencing that
element, and a single assertion, so a wrapped copy cannot stand in for the signed element,
and the values are read from the signed element only), the Issuer, the Audience, the
Destination and the bearer SubjectConfirmation's Recipient against our ACS URL, InResponseTo
against the request we sent, NotBefore/NotOnOrAfter (with its clock skew of
OneLogin_Saml2_Constants.ALLOWED_CLOCK_DRIFT, 300 seconds) and the XML schema."""

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from cryptography import x509
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
from onelogin.saml2.constants import OneLogin_Saml2_Constants as Saml
from onelogin.saml2.metadata import OneLogin_Saml2_Metadata
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from .http import ProviderError, url_check

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
REDIRECT = "redirect"
POST = "post"
BINDINGS = {Saml.BINDING_HTTP_REDIRECT: REDIRECT, Saml.BINDING_HTTP_POST: POST}
EMAIL_FORMAT = Saml.NAMEID_EMAIL_ADDRESS
# Where IdPs put the email when the NameID is not one (Okta/Google "email", AD FS/Azure's
# claim URI, the LDAP "mail" OID).
EMAIL_ATTRIBUTES = (
    "email",
    "mail",
    "emailAddress",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
)


@dataclass(frozen=True)
class IdpMetadata:
    entity_id: str
    sso_url: str
    sso_binding: str  # REDIRECT or POST
    certificates: list[str]  # base64 DER, as in the metadata


@dataclass(frozen=True)
class ServiceProvider:
    """Our side, per tenant host: the entity id (our metadata's URL) and the ACS URL."""

    entity_id: str
    acs_url: str


def metadata_parse(xml: bytes | str) -> IdpMetadata:
    """The IdP's entity id, single sign-on URL (HTTP-Redirect preferred, else HTTP-POST) and
    signing certificates, from its metadata; ProviderError saying what is wrong. A DTD, an
    entity (billion laughs) or an external reference (XXE) is refused before anything is
    expanded or fetched."""
    try:
        root = fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ProviderError(
            f"The metadata uses a forbidden XML construct ({type(exc).__name__}): no DTD, "
            "entity or external reference is accepted."
        ) from exc
    except (ParseError, ValueError) as exc:
        raise ProviderError(f"The metadata is not well-formed XML ({exc}).") from exc
    if root.tag == f"{{{MD}}}EntityDescriptor":
        entities = [root]
    elif root.tag == f"{{{MD}}}EntitiesDescriptor":
        entities = list(root.iter(f"{{{MD}}}EntityDescriptor"))
    else:
        raise ProviderError("The metadata is not SAML 2.0 metadata (no EntityDescriptor).")
    found = [(e, e.find(f"{{{MD}}}IDPSSODescriptor")) for e in entities]
    idps = [(e, d) for e, d in found if d is not None]
    if len(idps) != 1:
        raise ProviderError("The metadata must describe exactly one identity provider.")
    entity, descriptor = idps[0]
    entity_id = (entity.get("entityID") or "").strip()
    if not entity_id or len(entity_id) > 1024:
        raise ProviderError("The metadata's EntityDescriptor has no entityID.")
    if Saml.NS_SAMLP not in (descriptor.get("protocolSupportEnumeration") or "").split():
        raise ProviderError("The identity provider does not support the SAML 2.0 protocol.")
    services = {
        BINDINGS[s.get("Binding", "")]: (s.get("Location") or "").strip()
        for s in descriptor.findall(f"{{{MD}}}SingleSignOnService")
        if s.get("Binding") in BINDINGS
    }
    binding = REDIRECT if services.get(REDIRECT) else POST if services.get(POST) else None
    if binding is None:
        raise ProviderError(
            "The metadata has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding."
        )
    try:
        sso_url = url_check(services[binding])
    except ProviderError as exc:
        raise ProviderError(f"The SingleSignOnService location: {exc}") from exc
    certificates = []
    for key in descriptor.findall(f"{{{MD}}}KeyDescriptor"):
        if key.get("use", "signing") != "signing":
            continue
        for element in key.iter(f"{{{DS}}}X509Certificate"):
            certificates.append(_certificate_check("".join((element.text or "").split())))
    if not certificates:
        raise ProviderError("The metadata has no signing certificate.")
    return IdpMetadata(entity_id, sso_url, binding, list(dict.fromkeys(certificates)))


def _certificate_check(value: str) -> str:
    try:
        x509.load_der_x509_certificate(base64.b64decode(value, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise ProviderError("A signing certificate in the metadata is not X.509.") from exc
    return value


def _settings(sp: ServiceProvider, idp: IdpMetadata | None) -> OneLogin_Saml2_Settings:
    data: dict[str, Any] = {
        "strict": True,
        "sp": {
            "entityId": sp.entity_id,
            "assertionConsumerService": {"url": sp.acs_url, "binding": Saml.BINDING_HTTP_POST},
            "NameIDFormat": Saml.NAMEID_UNSPECIFIED,
        },
        "security": {
            "authnRequestsSigned": False,
            # Either signature is enough (python3-saml refuses an answer with none at all).
            "wantAssertionsSigned": False,
            "wantMessagesSigned": False,
            "wantNameId": True,
            "wantAttributeStatement": False,
            "requestedAuthnContext": False,
            "rejectDeprecatedAlgorithm": True,
            "signatureAlgorithm": Saml.RSA_SHA256,
            "digestAlgorithm": Saml.SHA256,
        },
    }
    if idp is not None:
        data["idp"] = {
            "entityId": idp.entity_id,
            "singleSignOnService": {
                "url": idp.sso_url,
                "binding": Saml.BINDING_HTTP_POST
                if idp.sso_binding == POST
                else Saml.BINDING_HTTP_REDIRECT,
            },
            "x509certMulti": {"signing": idp.certificates},
        }
    return OneLogin_Saml2_Settings(data, sp_validation_only=idp is None)


def sp_metadata(sp: ServiceProvider) -> str:
    """Our SP metadata: the entity id, the ACS (HTTP-POST), signed assertions wanted."""
    settings = _settings(sp, None)
    metadata: str = OneLogin_Saml2_Metadata.builder(
        settings.get_sp_data(), authnsign=False, wsign=True
    )
    return metadata


@dataclass(frozen=True)
class AuthnRequest:
    id: str
    # HTTP-Redirect: the URL to send the browser to. HTTP-POST: the IdP's URL and the form.
    url: str
    form: dict[str, str] | None


def authn_request(sp: ServiceProvider, idp: IdpMetadata, relay_state: str) -> AuthnRequest:
    request = OneLogin_Saml2_Authn_Request(_settings(sp, idp))
    if idp.sso_binding == POST:
        form = {"SAMLRequest": request.get_request(deflate=False), "RelayState": relay_state}
        return AuthnRequest(request.get_id(), idp.sso_url, form)
    query = urlencode({"SAMLRequest": request.get_request(deflate=True), "RelayState": relay_state})
    parts = urlsplit(idp.sso_url)
    separator = "&" if parts.query else "?"
    return AuthnRequest(request.get_id(), f"{idp.sso_url}{separator}{query}", None)


class ResponseMalformed(Exception):
    """Not a SAML response at all (bad base64, not XML, a DTD): a 400."""


class ResponseInvalid(Exception):
    """A SAML response that does not verify: the message says which check failed."""


def response_verify(
    saml_response: str, *, sp: ServiceProvider, idp: IdpMetadata, request_id: str
) -> str:
    """The email the IdP asserts, once every check of the module's docstring passes."""
    settings = _settings(sp, idp)
    try:
        response = OneLogin_Saml2_Response(settings, saml_response)
    except Exception as exc:  # python3-saml raises bare ones for bad base64 or XML
        raise ResponseMalformed("The SAMLResponse is not a base64-encoded XML document.") from exc
    acs = urlsplit(sp.acs_url)
    request_data = {
        "https": "on" if acs.scheme == "https" else "off",
        "http_host": acs.netloc,  # with the port, when not the scheme's
        "script_name": acs.path,
        "post_data": {"SAMLResponse": saml_response},
    }
    try:
        valid = response.is_valid(request_data, request_id=request_id, raise_exceptions=True)
    except Exception as exc:  # OneLogin_Saml2_ValidationError, or xmlsec's on odd input
        raise ResponseInvalid(f"The SAML response was refused: {_reason(exc)}") from exc
    if not valid:
        raise ResponseInvalid(f"The SAML response was refused: {response.get_error()}")
    name_id = (response.get_nameid() or "").strip()
    if "@" in name_id:
        return name_id
    attributes = response.get_attributes()
    for name in EMAIL_ATTRIBUTES:
        values = attributes.get(name) or []
        if values and isinstance(values[0], str) and "@" in values[0]:
            return values[0].strip()
    raise ResponseInvalid("The SAML assertion carries no email (NameID or attribute).")


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text.rstrip(".") + "." if text else type(exc).__name__
