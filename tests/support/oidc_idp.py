"""A real OpenID Connect provider on loopback for the SSO tests: discovery, JWKS, an
authorization endpoint (a page with a "Continue" button, so a browser goes through it; the
form posts back and redirects to the client with a code), and a token endpoint that checks
the client's secret, the redirect URI and the PKCE verifier and spends each code once.
ID tokens are RS256-signed with a key it publishes. Tests steer what the next ID token
says (`claims`: overrides, None removes a claim) and with which key it is signed (`rogue`),
to present each bad answer a real provider (or an attacker) could send."""

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class OidcProvider:
    issuer: str = ""
    clients: dict[str, str] = field(default_factory=dict)  # client id: secret
    # Overrides of the next ID tokens' claims (None drops the claim), for bad-input tests.
    claims: dict[str, Any] = field(default_factory=dict)
    rogue: bool = False  # sign with a key the JWKS does not publish
    key: rsa.RSAPrivateKey = field(default_factory=_rsa_key)
    rogue_key: rsa.RSAPrivateKey = field(default_factory=_rsa_key)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: int = 0

    def client(self) -> tuple[str, str]:
        """A newly registered client: its id and secret."""
        client_id, secret = "client-" + secrets.token_hex(4), secrets.token_urlsafe(24)
        self.clients[client_id] = secret
        return client_id, secret

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}

    def approve(self, params: dict[str, str], email: str) -> str:
        """The person signed in as `email` and consented: the URL the browser goes to next
        (the client's redirect URI with a code and the state)."""
        code = secrets.token_urlsafe(24)
        self.codes[code] = {**params, "email": email}
        answer = {"code": code, "state": params.get("state", "")}
        return f"{params['redirect_uri']}?{urlencode(answer)}"

    def token(self, form: dict[str, str], auth: tuple[str, str] | None) -> tuple[int, dict]:
        self.token_requests += 1
        client_id, secret = auth or (form.get("client_id", ""), form.get("client_secret", ""))
        if self.clients.get(client_id) != secret:
            return 401, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)  # once
        if grant is None or grant["client_id"] != client_id:
            return 400, {"error": "invalid_grant"}
        if grant["redirect_uri"] != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri"}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if challenge.rstrip(b"=").decode() != grant.get("code_challenge"):
            return 400, {"error": "invalid_grant", "error_description": "PKCE"}
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "sub-" + hashlib.sha256(grant["email"].encode()).hexdigest()[:16],
            "aud": client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": grant.get("nonce"),
            "email": grant["email"],
            "email_verified": True,
        }
        for name, value in self.claims.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        key = self.rogue_key if self.rogue else self.key
        id_token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
        return 200, {
            "access_token": secrets.token_urlsafe(16),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }


def _handler(provider: OidcProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: dict[str, Any]) -> None:
            self._send(status, json.dumps(data).encode(), "application/json")

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._json(200, provider.discovery())
            elif url.path == "/jwks":
                self._json(200, provider.jwks())
            elif url.path == "/authorize":
                if params.get("client_id") not in provider.clients:
                    self._send(400, b"unknown client", "text/plain")
                    return
                hidden = "".join(
                    f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                    for k, v in params.items()
                )
                page = (
                    '<!doctype html><link rel="icon" href="data:,"><title>Test IdP</title>'
                    "<h1>Test IdP sign-in</h1>"
                    f'<form method="post" action="/authorize">{hidden}'
                    '<label>Email <input name="email" '
                    f'value="{html.escape(params.get("login_hint", ""))}"></label>'
                    "<button>Continue</button></form>"
                )
                self._send(200, page.encode(), "text/html")
            else:
                self._send(404, b"not found", "text/plain")

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self.path == "/authorize":
                email = form.pop("email", "")
                self._send(302, b"", "text/plain", Location=provider.approve(form, email))
            elif self.path == "/token":
                auth = None
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                    auth = (user, password)
                status, body = provider.token(form, auth)
                self._json(status, body)
            else:
                self._send(404, b"not found", "text/plain")

    return Handler


class RunningProvider:
    def __init__(self) -> None:
        self.provider = OidcProvider()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.provider))
        self.provider.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> OidcProvider:
        self.thread.start()
        return self.provider

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def running_provider() -> Iterator[OidcProvider]:
    """A provider for the length of a `with` (where a fixture cannot be asked for)."""
    running = RunningProvider()
    try:
        yield running.start()
    finally:
        running.stop()


def main() -> None:
    """A provider to try single sign-on by hand against `make run` (README, "Single sign-on"):
    `python -m tests.support.oidc_idp --port 8800 --client sso-demo:sso-demo-secret`."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8800)
    parser.add_argument("--client", action="append", default=[], help="id:secret")
    args = parser.parse_args()
    provider = OidcProvider(issuer=f"http://127.0.0.1:{args.port}")
    for client in args.client:
        client_id, _, secret = client.partition(":")
        provider.clients[client_id] = secret
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _handler(provider))
    print(f"OIDC provider {provider.issuer}, clients {', '.join(provider.clients)}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
