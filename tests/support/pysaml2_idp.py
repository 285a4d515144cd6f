"""A third-party SAML 2.0 identity provider on loopback: pysaml2's IdP (saml2.server.Server,
which signs with the `xmlsec1` command) behind a small HTTP server, so our service provider
is checked against an implementation we did not write. Its metadata is pysaml2's own; it
reads our AuthnRequest with pysaml2 (checking it against our SP metadata, registered with
`sp_register` as an IdP administrator would), shows a sign-in page with a "Continue" button,
and answers with a page that posts pysaml2's signed response to our ACS.

`sign_alg` picks the signature algorithm: RSA-SHA256 by default; pysaml2's own default,
RSA-SHA1, is what an old IdP sends and our SP refuses. tests/support/saml_idp.py (signxml)
is the IdP whose answers tests steer into every bad shape.

pysaml2 needs the `xmlsec1` command (Debian's `xmlsec1`): when it is missing and we run as
root with apt-get (the CI machine), `xmlsec1_binary` installs it once; otherwise the tests
that need it are skipped with the command that fixes it."""

import html
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.saml_idp import KeyPair, PageHandler, key_pair

NOT_INSTALLED = "xmlsec1 is not installed (pysaml2 signs with it): apt-get install xmlsec1"
SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
DIGESTS = {
    SHA256: "http://www.w3.org/2001/04/xmlenc#sha256",
    SHA1: "http://www.w3.org/2000/09/xmldsig#sha1",
}
INSTALL_TIMEOUT_S = 300
_install_lock = threading.Lock()


def xmlsec1_binary() -> tuple[str | None, str]:
    """The xmlsec1 command, installed from Debian's package when we may (root with
    apt-get); (None, why not) otherwise."""
    with _install_lock:
        found = shutil.which("xmlsec1")
        if found:
            return found, ""
        if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("apt-get") is None:
            return None, f"{NOT_INSTALLED} (not root with apt-get, so not installing it)"
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "xmlsec1"]
        failure = ""
        for commands in ([install], [["apt-get", "update", "-q"], install]):
            try:
                for command in commands:
                    subprocess.run(  # noqa: S603
                        command, env=env, capture_output=True, timeout=INSTALL_TIMEOUT_S, check=True
                    )
                return shutil.which("xmlsec1"), ""
            except subprocess.TimeoutExpired:
                return None, f"{NOT_INSTALLED} ({' '.join(command)} took too long)"
            except subprocess.CalledProcessError as exc:
                failure = exc.stderr.decode(errors="replace")[-300:]
        return None, f"{NOT_INSTALLED} (apt-get failed: {failure})"


@dataclass
class Pysaml2Idp:
    base_url: str
    xmlsec1: str
    keys: KeyPair = field(default_factory=key_pair)
    sign_alg: str = SHA256
    responses: list[str] = field(default_factory=list)  # base64 SAMLResponses sent
    server: Any = None  # saml2.server.Server, made by `start`

    @property
    def entity_id(self) -> str:
        return f"{self.base_url}/metadata"

    @property
    def sso_url(self) -> str:
        return f"{self.base_url}/sso"

    @property
    def metadata_url(self) -> str:
        return self.entity_id

    def start(self, workdir: Path) -> None:
        from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
        from saml2.config import IdPConfig
        from saml2.saml import NAMEID_FORMAT_EMAILADDRESS
        from saml2.server import Server

        (workdir / "idp.key").write_bytes(self.keys.key_pem)
        (workdir / "idp.crt").write_bytes(self.keys.cert_pem)
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [
                                (self.sso_url, BINDING_HTTP_REDIRECT),
                                (self.sso_url, BINDING_HTTP_POST),
                            ]
                        },
                        "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                        "policy": {"default": {"lifetime": {"minutes": 5}}},
                    }
                },
                "key_file": str(workdir / "idp.key"),
                "cert_file": str(workdir / "idp.crt"),
                "xmlsec_binary": self.xmlsec1,
                "metadata": {},
            }
        )
        self.server = Server(config=config)

    def metadata(self) -> str:
        from saml2.metadata import entity_descriptor

        return str(entity_descriptor(self.server.config))

    def sp_register(self, sp_metadata: str) -> None:
        """Our SP's metadata, as an IdP administrator registers a new application."""
        self.server.metadata.load("inline", sp_metadata)

    def request_read(self, saml_request: str, binding: str) -> dict[str, str]:
        """pysaml2's reading of our AuthnRequest (an unknown SP or ACS URL raises), and where
        its answer goes."""
        parsed = self.server.parse_authn_request(saml_request, binding)
        args = self.server.response_args(parsed.message)
        return {
            "in_response_to": args["in_response_to"],
            "sp_entity_id": args["sp_entity_id"],
            "destination": args["destination"],
        }

    def response(self, request: dict[str, str], email: str) -> str:
        import base64

        from saml2 import BINDING_HTTP_POST
        from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID

        answer = self.server.create_authn_response(
            identity={"mail": [email]},
            userid=email,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email),
            authn={
                "class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
            },
            in_response_to=request["in_response_to"],
            destination=request["destination"],
            sp_entity_id=request["sp_entity_id"],
            binding=BINDING_HTTP_POST,
            sign_assertion=True,
            sign_response=False,
            sign_alg=self.sign_alg,
            digest_alg=DIGESTS[self.sign_alg],
        )
        encoded = base64.b64encode(str(answer).encode()).decode()
        self.responses.append(encoded)
        return encoded


_PAGE = (
    '<!doctype html><link rel="icon" href="data:,"><title>pysaml2 IdP</title>'
    "<h1>pysaml2 IdP sign-in</h1>"
    '<form method="post" action="/sso/continue">{hidden}'
    '<label>Email <input name="email" value=""></label>'
    "<button>Continue</button></form>"
)
_ANSWER = (
    '<!doctype html><link rel="icon" href="data:,"><title>pysaml2 IdP</title>'
    '<form id="answer" method="post" action="{acs}">'
    '<input type="hidden" name="SAMLResponse" value="{response}">'
    '<input type="hidden" name="RelayState" value="{relay_state}">'
    "<button>Send</button></form>"
    "<script>document.getElementById('answer').submit()</script>"
)


def _handler(idp: Pysaml2Idp) -> type[BaseHTTPRequestHandler]:
    from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

    class Handler(PageHandler):
        def _sign_in_page(self, params: dict[str, str], binding: str) -> None:
            try:
                request = idp.request_read(params["SAMLRequest"], binding)
            except Exception as exc:  # pysaml2 refused our request: the test shows why
                self._send(400, f"AuthnRequest refused: {type(exc).__name__}: {exc}", "text/plain")
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
            elif url.path == "/sso":
                self._sign_in_page(params, BINDING_HTTP_REDIRECT)
            else:
                self._send(404, "not found", "text/plain")

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self.path == "/sso":
                self._sign_in_page(form, BINDING_HTTP_POST)
            elif self.path == "/sso/continue":
                response = idp.response(form, form.get("email", ""))
                page = _ANSWER.format(
                    acs=html.escape(form["destination"]),
                    response=html.escape(response),
                    relay_state=html.escape(form.get("relay_state", "")),
                )
                self._send(200, page)
            else:
                self._send(404, "not found", "text/plain")

    return Handler


@contextmanager
def running_pysaml2_idp(xmlsec1: str) -> Iterator[Pysaml2Idp]:
    """pysaml2's IdP on a free loopback port for the length of a `with`."""
    with tempfile.TemporaryDirectory() as workdir:
        server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
        idp = Pysaml2Idp(f"http://127.0.0.1:{server.server_address[1]}", xmlsec1)
        idp.start(Path(workdir))
        server.RequestHandlerClass = _handler(idp)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield idp
        finally:
            server.shutdown()
            server.server_close()
