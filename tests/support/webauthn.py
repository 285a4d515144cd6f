"""WebAuthn in tests without a browser: a software authenticator (an ES256 key in memory)
that answers the server's creation and request options as a browser and its security key
would (the JSON of PublicKeyCredential.toJSON()), built with fido2's own structures. Each
answer can be bent as an attacker or a broken client would: another origin, another RP id,
another challenge, a counter that does not go up."""

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.webauthn.internal.auth import WebAuthn
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import websafe_encode
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import Org, client_for
from tests.support.http import host_of
from tests.support.mfa import LOGIN_MFA, MFA, login

WEBAUTHN = f"{MFA}webauthn/"
_FLAGS = AuthenticatorData.FLAG


@dataclass
class SoftKey:
    """One credential of a software authenticator."""

    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    counter: int = 0
    user_handle: str | None = None

    def create(
        self,
        options: dict[str, Any],
        *,
        origin: str,
        rp_id: str | None = None,
        challenge: str | None = None,
        resident: bool = False,
        verified: bool = True,
    ) -> dict[str, Any]:
        """The browser's answer to navigator.credentials.create(options); `verified`: the
        key checked the person (PIN, biometrics), the UV flag."""
        public = options["publicKey"]
        rp_id = rp_id or public["rp"]["id"]
        self.user_handle = public["user"]["id"]
        client_data = CollectedClientData.create(
            type=CollectedClientData.TYPE.CREATE,
            challenge=challenge or public["challenge"],
            origin=origin,
        )
        credential = AttestedCredentialData.create(
            b"\0" * 16, self.credential_id, ES256.from_cryptography_key(self.private.public_key())
        )
        auth_data = AuthenticatorData.create(
            hashlib.sha256(rp_id.encode()).digest(),
            _FLAGS.UP | _FLAGS.AT | (_FLAGS.UV if verified else 0),
            self.counter,
            credential,
        )
        attestation = AttestationObject.create("none", auth_data, {})
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "cross-platform",
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "attestationObject": websafe_encode(attestation),
                "transports": ["usb"],
            },
            "clientExtensionResults": {"credProps": {"rk": resident}},
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        origin: str,
        rp_id: str | None = None,
        challenge: str | None = None,
        counter: int | None = None,
    ) -> dict[str, Any]:
        """The browser's answer to navigator.credentials.get(options): a signature over the
        authenticator data and the client data, the counter one up (or `counter`)."""
        public = options["publicKey"]
        rp_id = rp_id or public["rpId"]
        self.counter = self.counter + 1 if counter is None else counter
        auth_data = AuthenticatorData.create(
            hashlib.sha256(rp_id.encode()).digest(), _FLAGS.UP | _FLAGS.UV, self.counter
        )
        client_data = CollectedClientData.create(
            type=CollectedClientData.TYPE.GET,
            challenge=challenge or public["challenge"],
            origin=origin,
        )
        signature = self.private.sign(auth_data + client_data.hash, ec.ECDSA(hashes.SHA256()))
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "cross-platform",
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "authenticatorData": websafe_encode(auth_data),
                "signature": websafe_encode(signature),
                "userHandle": self.user_handle,
            },
            "clientExtensionResults": {},
        }


def browser_origin(org: Org) -> str:
    """The origin of a page on the org's host, as the browser puts it in clientDataJSON."""
    return f"http://{host_of(org.tenant)}"


def register_begin(client: APIClient, **body: Any) -> dict[str, Any]:
    begun = client.post(f"{WEBAUTHN}register/", body, format="json")
    assert begun.status_code == 201, begun.content
    return dict(begun.json())


def register_complete(client: APIClient, credential: dict[str, Any], name: str = "YubiKey") -> Any:
    return client.post(
        f"{WEBAUTHN}register/complete/", {"name": name, "credential": credential}, format="json"
    )


def enroll_key(org: Org, name: str = "YubiKey", key: SoftKey | None = None) -> SoftKey:
    """A new software key enrolled over the API for the org's member, on the org's host."""
    key = key or SoftKey()
    options = register_begin(org.client)["options"]
    done = register_complete(org.client, key.create(options, origin=browser_origin(org)), name)
    assert done.status_code == 201, done.content
    return key


def key_challenge(org: Org) -> dict[str, Any]:
    """A fresh login of the org's member: the 202's body (mfa_token, types, webauthn)."""
    answer = login(client_for(org.tenant), org.user.email)
    assert answer.status_code == 202, answer.content
    return dict(answer.json())


def login_with_key(client: APIClient, token: str, assertion: dict[str, Any]) -> Any:
    return client.post(LOGIN_MFA, {"mfa_token": token, "webauthn": assertion}, format="json")


def key_row(user: User, host: str, name: str = "Key") -> Authenticator:
    """A security key of `user` for `host`, stored as an enrollment stores it, without the
    ceremony (for worlds that need one to exist: tests/support/owasp.py)."""
    options = {
        "publicKey": {
            "rp": {"id": host},
            "user": {"id": websafe_encode(str(user.pk).encode())},
            "challenge": websafe_encode(os.urandom(32)),
        }
    }
    credential = SoftKey().create(options, origin=f"http://{host}")
    key = WebAuthn.add(user, name, credential).instance
    key.data.update(rp_id=host, sign_count=0)
    key.save(update_fields=["data"])
    return key
