"""The client secret at rest: Fernet (AES-128-CBC + HMAC-SHA256) under SSO_ENCRYPTION_KEY, or
a key derived from SECRET_KEY when that is empty. A database dump alone reveals no secret."""

import base64
import hashlib

from cryptography.fernet import Fernet
from django.conf import settings


def _fernet() -> Fernet:
    material = settings.SSO_ENCRYPTION_KEY or settings.SECRET_KEY
    # A purpose-bound derivation: the same SECRET_KEY yields a key used for nothing else.
    key = hashlib.sha256(b"accounts.sso.crypto:" + material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def secret_encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def secret_decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def token_hash(value: str) -> str:
    """How states and one-time codes are kept: their SHA-256, never the value."""
    return hashlib.sha256(value.encode()).hexdigest()
