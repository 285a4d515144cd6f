"""A real SAML 2.0 identity provider on loopback for the SSO tests, written over signxml
(an XML-signature implementation independent of the xmlsec our service provider verifies
with): its metadata (HTTP-Redirect and HTTP-POST single sign-on, a signing certificate), a
sign-in page for the AuthnRequest (a "Continue" button, so a browser goes through it), and
the answer: a page that posts a signed SAMLResponse to the request's ACS URL.

Tests steer the next answers (`answer`): what is signed (the assertion, the response, both,
nothing) and with which key (`rogue`: one the metadata does not publish), the issuer, the
audience, the destination and recipient, InResponseTo, a clock offset (an expired answer),
and signature-wrapping variants (`wrap`) that carry an unsigned, forged assertion beside the
signed one. Every answer sent is kept (`responses`), for replays."""

import base64
import datetime
import html
import re
import secrets
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner, methods

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
# No DTD, no entity, no network: the test IdP reads only what our SP sends.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@dataclass(frozen=True)
class KeyPair:
    key_pem: bytes
    cert_pem: bytes

    @property
    def cert_b64(self) -> str:
        """The certificate as metadata carries it (base64 DER, one line)."""
        body = self.cert_pem.decode().split("-----")[2]
        return "".join(body.split())


def key_pair(name: str = "Test IdP") -> KeyPair:
    """A fresh RSA key and a self-signed certificate for it, valid around now."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return KeyPair(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert.public_bytes(serialization.Encoding.PEM),
    )


@dataclass
class Answer:
    """How the next responses are made; the defaults are a correct answer."""

    sign: str = "assertion"  # "assertion", "response", "both" or "none"
    rogue: bool = False  # signed with a key the metadata does not publish
    issuer: str | None = None  # another Issuer than the IdP's entity id
    audience: str | None = None  # another Audience than the request's Issuer
    destination: str | None = None  # another Destination and Recipient than the ACS URL
    in_response_to: str | None = None  # another InResponseTo than the request's ID
    clock_offset: int = 0  # seconds added to every time in the answer
    name_id: str | None = None  # a NameID that is not the email
    email_attribute: bool = False  # also send the email as the `email` attribute
    wrap: str = ""  # "", "forged_first" or "signed_moved": signature-wrapping variants
    forged_email: str = ""  # the email of the forged, unsigned assertion of a `wrap`


@dataclass
class SamlIdp:
    base_url: str = ""
    keys: KeyPair = field(default_factory=key_pair)
    rogue_keys: KeyPair = field(default_factory=lambda: key_pair("Rogue"))
    post_only: bool = False  # the metadata lists the HTTP-POST binding only
    answer: Answer = field(default_factory=Answer)
    requests: list[dict[str, str]] = field(default_factory=list)  # AuthnRequests received
    responses: list[str] = field(default_factory=list)  # base64 SAMLResponses sent

    @property
    def entity_id(self) -> str:
        return f"{self.base_url}/metadata"

    @property
    def sso_url(self) -> str:
        return f"{self.base_url}/sso"

    @property
    def metadata_url(self) -> str:
        return self.entity_id

    def metadata(self) -> str:
        services = (
            ""
            if self.post_only
            else (
                f'<md:SingleSignOnService Binding="{REDIRECT_BINDING}" Location="{self.sso_url}"/>'
            )
        )
        services += f'<md:SingleSignOnService Binding="{POST_BINDING}" Location="{self.sso_url}"/>'
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>'
            f'<md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{DS}" entityID="{self.entity_id}">'
            f'<md:IDPSSODescriptor WantAuthnRequestsSigned="false" '
            f'protocolSupportEnumeration="{SAMLP}">'
            f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
            f"{self.keys.cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
            f"</md:KeyDescriptor>"
            f"<md:NameIDFormat>{EMAIL_FORMAT}</md:NameIDFormat>{services}"
            f"</md:IDPSSODescriptor></md:EntityDescriptor>"
        )

    def authn_request_read(self, saml_request: str, *, deflated: bool) -> dict[str, str]:
        """What the SP asked: the request's ID, its Issuer (the SP's entity id) and the ACS
        URL the answer goes to."""
        raw = base64.b64decode(saml_request)
        xml = zlib.decompress(raw, -15) if deflated else raw
        root = etree.fromstring(xml, _PARSER)
        assert root.tag == f"{{{SAMLP}}}AuthnRequest", root.tag
        request = {
            "id": root.get("ID", ""),
            "acs_url": root.get("AssertionConsumerServiceURL", ""),
            "sp_entity_id": root.findtext(f"{{{SAML}}}Issuer") or "",
            "destination": root.get("Destination", ""),
        }
        self.requests.append(request)
        return request

    def response(self, request: dict[str, str], email: str) -> str:
        """The base64 SAMLResponse for `request`, signed in as `email`, as `answer` says."""
        a = self.answer
        now = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=a.clock_offset)
        issuer = a.issuer or self.entity_id
        destination = a.destination or request["acs_url"]
        in_response_to = a.in_response_to or request["id"]
        audience = a.audience or request["sp_entity_id"]
        response = etree.Element(
            f"{{{SAMLP}}}Response",
            nsmap={"samlp": SAMLP, "saml": SAML},
            ID=_id(),
            Version="2.0",
            IssueInstant=_time(now),
            Destination=destination,
            InResponseTo=in_response_to,
        )
        etree.SubElement(response, f"{{{SAML}}}Issuer").text = issuer
        status = etree.SubElement(response, f"{{{SAMLP}}}Status")
        etree.SubElement(
            status, f"{{{SAMLP}}}StatusCode", Value="urn:oasis:names:tc:SAML:2.0:status:Success"
        )
        assertion = _assertion(
            issuer=issuer,
            email=email,
            name_id=a.name_id,
            email_attribute=a.email_attribute,
            now=now,
            recipient=destination,
            in_response_to=in_response_to,
            audience=audience,
        )
        keys = self.rogue_keys if a.rogue else self.keys
        if a.sign in ("assertion", "both"):
            assertion = _signed(assertion, keys)
        response.append(assertion)
        if a.wrap:
            _wrap(response, assertion, a.wrap, a.forged_email)
        if a.sign in ("response", "both"):
            response = _signed(response, keys)
        encoded = base64.b64encode(etree.tostring(response, xml_declaration=False)).decode()
        self.responses.append(encoded)
        return encoded


def _id() -> str:
    return "_" + secrets.token_hex(16)


def _time(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _assertion(
    *,
    issuer: str,
    email: str,
    name_id: str | None,
    email_attribute: bool,
    now: datetime.datetime,
    recipient: str,
    in_response_to: str,
    audience: str,
) -> Any:
    later = _time(now + datetime.timedelta(minutes=5))
    assertion = etree.Element(
        f"{{{SAML}}}Assertion",
        nsmap={"saml": SAML},
        ID=_id(),
        Version="2.0",
        IssueInstant=_time(now),
    )
    etree.SubElement(assertion, f"{{{SAML}}}Issuer").text = issuer
    subject = etree.SubElement(assertion, f"{{{SAML}}}Subject")
    name = etree.SubElement(
        subject,
        f"{{{SAML}}}NameID",
        Format=EMAIL_FORMAT
        if name_id is None
        else "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    )
    name.text = email if name_id is None else name_id
    confirmation = etree.SubElement(
        subject, f"{{{SAML}}}SubjectConfirmation", Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"
    )
    etree.SubElement(
        confirmation,
        f"{{{SAML}}}SubjectConfirmationData",
        InResponseTo=in_response_to,
        Recipient=recipient,
        NotOnOrAfter=later,
    )
    conditions = etree.SubElement(
        assertion,
        f"{{{SAML}}}Conditions",
        NotBefore=_time(now - datetime.timedelta(seconds=30)),
        NotOnOrAfter=later,
    )
    restriction = etree.SubElement(conditions, f"{{{SAML}}}AudienceRestriction")
    etree.SubElement(restriction, f"{{{SAML}}}Audience").text = audience
    statement = etree.SubElement(
        assertion, f"{{{SAML}}}AuthnStatement", AuthnInstant=_time(now), SessionIndex=_id()
    )
    context = etree.SubElement(statement, f"{{{SAML}}}AuthnContext")
    etree.SubElement(
        context, f"{{{SAML}}}AuthnContextClassRef"
    ).text = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
    if email_attribute:
        attributes = etree.SubElement(assertion, f"{{{SAML}}}AttributeStatement")
        attribute = etree.SubElement(attributes, f"{{{SAML}}}Attribute", Name="email")
        etree.SubElement(attribute, f"{{{SAML}}}AttributeValue").text = email
    return assertion


def _signed(element: Any, keys: KeyPair) -> Any:
    """`element` with an enveloped RSA-SHA256 signature, placed after its Issuer (where the
    schema wants it)."""
    signer = XMLSigner(
        method=methods.enveloped,
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
    )
    signed = signer.sign(
        element, key=keys.key_pem, cert=keys.cert_pem.decode(), reference_uri=element.get("ID")
    )
    signature = signed.find(f"{{{DS}}}Signature")
    signed.remove(signature)
    signed.insert(1, signature)
    return signed


def _wrap(response: Any, signed: Any, how: str, forged_email: str) -> None:
    """Signature wrapping: a forged copy of the signed assertion, naming `forged_email`,
    unsigned. forged_first: it goes before the signed one (a reader taking the first
    assertion takes it). signed_moved: the forged one, with the same ID, takes the signed
    one's place and carries its signature, in whose ds:Object the signed one now sits (the
    reference still finds an element whose digest verifies)."""
    forged = deepcopy(signed)
    for signature in forged.findall(f"{{{DS}}}Signature"):
        forged.remove(signature)
    forged.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID").text = forged_email
    if how == "forged_first":
        signed.addprevious(forged)
    elif how == "signed_moved":
        signature = signed.find(f"{{{DS}}}Signature")
        response.replace(signed, forged)
        signed.remove(signature)
        forged.insert(1, signature)
        holder = etree.SubElement(signature, f"{{{DS}}}Object")
        holder.append(signed)
    else:
        raise ValueError(how)


_PAGE = (
    '<!doctype html><link rel="icon" href="data:,"><title>Test SAML IdP</title>'
    "<h1>Test SAML IdP sign-in</h1>"
    '<form method="post" action="/sso/continue">{hidden}'
    '<label>Email <input name="email" value=""></label>'
    "<button>Continue</button></form>"
)
# The answer: a form that posts itself to the ACS (the HTTP-POST binding).
_ANSWER = (
    '<!doctype html><link rel="icon" href="data:,"><title>Test SAML IdP</title>'
    '<form id="answer" method="post" action="{acs}">'
    '<input type="hidden" name="SAMLResponse" value="{response}">'
    '<input type="hidden" name="RelayState" value="{relay_state}">'
    "<button>Send</button></form>"
    "<script>document.getElementById('answer').submit()</script>"
)


def answer_form(page: str) -> tuple[str, dict[str, str]]:
    """The ACS URL and the fields of an answer page (what a browser would post)."""
    action = re.search(r'<form id="answer" method="post" action="([^"]*)"', page)
    assert action is not None, page
    fields = dict(re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page))
    return html.unescape(action.group(1)), {k: html.unescape(v) for k, v in fields.items()}


class PageHandler(BaseHTTPRequestHandler):
    """A test IdP's request handler: quiet, and answering pages (or XML) whole."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: str, content_type: str = "text/html") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _handler(idp: SamlIdp) -> type[BaseHTTPRequestHandler]:
    class Handler(PageHandler):
        def _sign_in_page(self, params: dict[str, str], *, deflated: bool) -> None:
            try:
                request = idp.authn_request_read(params["SAMLRequest"], deflated=deflated)
            except Exception as exc:  # a bad request is the test's failure, shown as 400
                self._send(400, f"bad AuthnRequest: {exc}", "text/plain")
                return
            fields = {**request, "relay_state": params.get("RelayState", "")}
            hidden = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in fields.items()
            )
            self._send(200, _PAGE.format(hidden=hidden))

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if url.path == "/metadata":
                self._send(200, idp.metadata(), "application/samlmetadata+xml")
            elif url.path == "/sso" and not idp.post_only:
                self._sign_in_page(params, deflated=True)
            else:
                self._send(404, "not found", "text/plain")

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self.path == "/sso":
                self._sign_in_page(form, deflated=False)
            elif self.path == "/sso/continue":
                response = idp.response(form, form.get("email", ""))
                page = _ANSWER.format(
                    acs=html.escape(form["acs_url"]),
                    response=html.escape(response),
                    relay_state=html.escape(form.get("relay_state", "")),
                )
                self._send(200, page)
            else:
                self._send(404, "not found", "text/plain")

    return Handler


class RunningSamlIdp:
    def __init__(self) -> None:
        self.idp = SamlIdp()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.idp))
        self.idp.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> SamlIdp:
        self.thread.start()
        return self.idp

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def running_saml_idp() -> Iterator[SamlIdp]:
    running = RunningSamlIdp()
    try:
        yield running.start()
    finally:
        running.stop()


def main() -> None:
    """An IdP to try SAML single sign-on by hand against `make run` (README, "Single
    sign-on"): `python -m tests.support.saml_idp --port 8801`."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8801)
    args = parser.parse_args()
    idp = SamlIdp(base_url=f"http://127.0.0.1:{args.port}")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _handler(idp))
    print(f"SAML IdP {idp.entity_id}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
