"""Signing secrets and signatures as the Standard Webhooks specification has them.

A secret is `whsec_` + base64 of 32 random bytes; the signature of a message is
`v1,` + base64(HMAC-SHA256(secret bytes, "<webhook-id>.<webhook-timestamp>.<body>")), and
`webhook-signature` carries one such signature per secret in force, space-separated (two
during a rotation's overlap). Secrets are stored encrypted: Fernet under a key derived from
SECRET_KEY for this purpose only, so a database dump alone reveals no secret.
"""

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet
from django.conf import settings

PREFIX = "whsec_"
SECRET_BYTES = 32


def secret_generate() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _fernet() -> Fernet:
    key = hashlib.sha256(b"saas.webhooks_out.signing:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def signature(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signature_header(
    secrets_in_force: list[str], *, msg_id: str, timestamp: int, body: bytes
) -> str:
    return " ".join(
        signature(secret, msg_id=msg_id, timestamp=timestamp, body=body)
        for secret in secrets_in_force
    )
