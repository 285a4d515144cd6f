"""Optimistic concurrency for a versioned row: its ETag, and the If-Match check a service makes
inside the row lock, so that check and write are one step. HTTP-free: the API layer reads the
header (api.conventions.if_match_of) and passes its value down."""

import hashlib
from datetime import datetime
from typing import Any, Protocol

from .errors import ApplicationError


class PreconditionFailed(ApplicationError):
    status_code = 412
    default_code = "precondition_failed"


class Versioned(Protocol):
    pk: Any
    updated_at: datetime


def etag_for(obj: Versioned) -> str:
    """A strong validator: changes whenever the row is saved (updated_at is auto_now)."""
    raw = f"{type(obj).__name__}:{obj.pk}:{obj.updated_at.isoformat()}"
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


def entity_tags(header: str) -> list[str]:
    """The entity tags an If-Match or If-None-Match header names (weak ones as strong)."""
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


def precondition_check(obj: Versioned, if_match: str | None) -> None:
    """`If-Match` is optional; when sent it must name the current version (or be `*`)."""
    if if_match is None:
        return
    tags = entity_tags(if_match)
    if "*" in tags or etag_for(obj) in tags:
        return
    raise PreconditionFailed(
        "The resource changed since you read it (If-Match does not match its ETag); "
        "read it again and retry."
    )
