"""REST conventions shared by the tenant resource endpoints.

- `201 Created` with `Location` (created_response).
- `ETag` on detail reads, `If-None-Match` -> 304 (detail_response), optional `If-Match` on
  writes -> 412 `precondition_failed` when stale (saas.preconditions.precondition_check, called
  by services inside the row lock so check and write are one step).
- `Idempotency-Key` on creating POSTs (idempotent_create): the first 2xx answer is kept in
  the default cache (Redis) for IDEMPOTENCY_TTL, scoped by tenant and user; a retry with the
  same key and the same request gets it again, with `Idempotent-Replayed: true`; the same key
  with another request -> 422 `idempotency_key_reused`. One Redis lock per key makes
  concurrent retries wait for the first and replay it (409 `idempotency_in_progress` only if
  the first is still running after IDEMPOTENCY_WAIT seconds). Errors are not kept: a request
  that failed changed nothing and may be retried with the same key. With Redis unreachable a
  request that carries a key is refused with 503 `idempotency_unavailable` (creating it
  without the guarantee could duplicate it); requests without a key are unaffected.
"""

import functools
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.request import Request
from rest_framework.response import Response

from saas.errors import ApplicationError, Conflict, InvalidInput, ServiceUnavailable
from saas.preconditions import Versioned, entity_tags, etag_for

from .docs import error_doc

IDEMPOTENCY_TTL = 24 * 3600
IDEMPOTENCY_LOCK_TTL = 30
IDEMPOTENCY_WAIT = 10.0
# Visible ASCII (a UUID, a ULID, base64 ...): exactly what the schema's pattern says. Spaces
# are left out as HTTP strips them at the ends of a header value.
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"


class IdempotencyKeyReused(ApplicationError):
    status_code = 422
    default_code = "idempotency_key_reused"


def detail_response(request: Request, obj: Versioned, data: Any) -> Response:
    """200 with ETag, or 304 (no body) when If-None-Match names the current version."""
    etag = etag_for(obj)
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = entity_tags(if_none_match)
        if "*" in tags or etag in tags:
            return Response(status=304, headers={"ETag": etag})
    return Response(data, headers={"ETag": etag})


def if_match_of(request: Request) -> str | None:
    return request.headers.get("If-Match")


def created_response(request: Request, obj: Versioned, data: Any, location: str) -> Response:
    return Response(
        data,
        status=201,
        headers={"Location": request.build_absolute_uri(location), "ETag": etag_for(obj)},
    )


# ---- Idempotency-Key ------------------------------------------------------------------------


def _fingerprint(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _scope_key(request: Request, key: str) -> str:
    tenant = getattr(request, "tenant", None)
    schema = tenant.schema_name if tenant is not None else "public"
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"idem:{schema}:{request.user.pk}:{digest}"


def _replay(stored: dict[str, Any], fingerprint: str) -> Response:
    if stored["fingerprint"] != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for a different request; use a new key.",
            extra={"fields": {"Idempotency-Key": ["Used for a different request."]}},
        )
    headers = {"Idempotent-Replayed": "true", **stored["headers"]}
    return Response(stored["body"], status=stored["status"], headers=headers)


def _valid_key(request: Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
        raise InvalidInput(
            "Idempotency-Key must be 1-255 visible ASCII characters.",
            extra={"fields": {"Idempotency-Key": ["1-255 visible ASCII characters."]}},
        )
    return key


def _wait_for_first(result_key: str) -> dict[str, Any] | None:
    deadline = time.monotonic() + IDEMPOTENCY_WAIT
    while time.monotonic() < deadline:
        time.sleep(0.05)
        stored = cache.get(result_key)
        if stored is not None:
            return stored
    return None


def _run_once(request: Request, key: str, create: Callable[[], Response]) -> Response:
    scope, fingerprint = _scope_key(request, key), _fingerprint(request)
    result_key, lock_key = scope + ":result", scope + ":lock"
    stored = cache.get(result_key)
    if stored is not None:
        return _replay(stored, fingerprint)
    token = uuid.uuid4().hex
    for _attempt in range(3):
        acquired = cache.add(lock_key, token, timeout=IDEMPOTENCY_LOCK_TTL)
        if acquired:
            break
        if acquired is None:  # Redis unreachable (the cache ignores its errors)
            raise ServiceUnavailable(
                "Idempotency-Key cannot be honoured right now; retry shortly.",
                code="idempotency_unavailable",
            )
        stored = _wait_for_first(result_key)
        if stored is not None:
            return _replay(stored, fingerprint)
    else:
        raise Conflict(
            "A request with this Idempotency-Key is still being processed; retry later.",
            code="idempotency_in_progress",
        )
    try:
        stored = cache.get(result_key)  # finished between our first look and the lock
        if stored is not None:
            return _replay(stored, fingerprint)
        response = create()
        if 200 <= response.status_code < 300:
            headers = {h: response[h] for h in ("Location", "ETag") if response.has_header(h)}
            cache.set(
                result_key,
                {
                    "fingerprint": fingerprint,
                    "status": response.status_code,
                    "body": response.data,
                    "headers": headers,
                },
                timeout=IDEMPOTENCY_TTL,
            )
        return response
    finally:
        if cache.get(lock_key) == token:
            cache.delete(lock_key)


def idempotent_create(method: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorates a view's `post`: honours an optional Idempotency-Key header."""

    @functools.wraps(method)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        key = _valid_key(request)
        if key is None:
            return method(view, request, *args, **kwargs)
        return _run_once(request, key, lambda: method(view, request, *args, **kwargs))  # type: ignore[arg-type,return-value]

    return wrapper


# ---- OpenAPI pieces -------------------------------------------------------------------------

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name="Idempotency-Key",
    type={"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Makes the create safe to retry: the first successful answer (status, body, Location) "
        "is kept for 24 h per organization and user and returned again for the same key and "
        "body, with `Idempotent-Replayed: true`. 1-255 visible ASCII characters (a UUID, "
        "say); the same key with a different body is a 422 idempotency_key_reused."
    ),
)
IF_MATCH_PARAMETER = OpenApiParameter(
    name="If-Match",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Optional. The ETag you read; a stale one is refused with 412.",
)
IF_NONE_MATCH_PARAMETER = OpenApiParameter(
    name="If-None-Match",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="The ETag you hold; 304 Not Modified (no body) while it is current.",
)
E304 = {304: OpenApiResponse(description="Not modified: your If-None-Match is current.")}
E409_IDEMPOTENCY = {409: error_doc("A request with this Idempotency-Key is still being processed.")}
E412 = {412: error_doc("precondition_failed: If-Match does not name the current version.")}
E503_IDEMPOTENCY = {
    503: error_doc("idempotency_unavailable: the key cannot be honoured right now; retry.")
}
E422_IDEMPOTENCY = {422: error_doc("idempotency_key_reused: the key was used for another request.")}
