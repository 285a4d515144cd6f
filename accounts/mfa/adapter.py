"""allauth.mfa's adapter, with its secrets encrypted at rest: allauth stores the TOTP seed
and the recovery codes' seed through `encrypt`/`decrypt`, which by default keep them in
clear (a database dump would be every account's second factor)."""

import base64
import hashlib
from functools import lru_cache

from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], fallback: str) -> MultiFernet:
    if not keys:
        # Derived, not SECRET_KEY itself: a Fernet key is 32 url-safe base64 bytes.
        digest = hashlib.sha256(f"accounts.mfa:{fallback}".encode()).digest()
        keys = (base64.urlsafe_b64encode(digest).decode(),)
    return MultiFernet([Fernet(key) for key in keys])


def mfa_cipher() -> MultiFernet:
    """The first key of MFA_ENCRYPTION_KEYS encrypts; every key decrypts (rotation)."""
    return _fernet(tuple(settings.MFA_ENCRYPTION_KEYS), settings.SECRET_KEY)


class MfaAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return mfa_cipher().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        return mfa_cipher().decrypt(encrypted_text.encode()).decode()
