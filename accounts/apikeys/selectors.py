"""Reads of API keys, always within one tenant, and the key format."""

import hashlib
import re

from django.conf import settings
from django.db.models import QuerySet

from saas.errors import NotFound
from tenants.models import Tenant

from .models import ApiKey

# 43 base62 characters: 256 random bits, in the shape the log filters scrub
# (saas.observability.logging: sk_live_/sk_test_ and letters and digits).
SECRET_LENGTH = 43
KEY_SHAPE = re.compile(r"sk_(?:live|test)_[A-Za-z0-9]{%d}" % SECRET_LENGTH)  # noqa: UP031
KEY_MARKER = "sk_"  # every key starts with it: the authentication's cue
PREFIX_SECRET_CHARS = 8  # of the random part shown in lists


def key_prefix() -> str:
    """`sk_live_` in production, `sk_test_` in development and tests."""
    return str(settings.API_KEY_PREFIX)


def key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def key_well_formed(raw: str) -> bool:
    return KEY_SHAPE.fullmatch(raw) is not None


def api_key_list(*, tenant: Tenant, user_id: int, manage_all: bool) -> QuerySet[ApiKey]:
    """The organization's keys for someone who manages them all, else the caller's own."""
    keys = ApiKey.objects.filter(tenant=tenant)
    if not manage_all:
        keys = keys.filter(created_by_id=user_id)
    return keys.order_by("-created_at", "-id")


def api_key_get(*, tenant: Tenant, key_id: int, user_id: int, manage_all: bool) -> ApiKey:
    """Another tenant's key, or another member's for someone who manages only their own, is as
    unknown as a missing one."""
    key = api_key_list(tenant=tenant, user_id=user_id, manage_all=manage_all).filter(pk=key_id)
    found = key.first()
    if found is None:
        raise NotFound("No such API key.", code="api_key_not_found")
    return found


def api_key_find(*, raw: str) -> ApiKey | None:
    """The key `raw` is, of whichever tenant, revoked or not (the caller decides)."""
    if not key_well_formed(raw):
        return None
    return (
        ApiKey.objects.filter(key_hash=key_hash(raw))
        .only(
            "id",
            "tenant_id",
            "prefix",
            "scopes",
            "created_by_id",
            "expires_at",
            "retires_at",
            "revoked_at",
            "last_used_at",
        )
        .first()
    )
