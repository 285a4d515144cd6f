"""Builds the one error body; used by the DRF handler and by plain-Django responses
(middleware, 404/500 handlers) that run outside DRF."""

import uuid
from typing import Any

from django.http import HttpRequest, JsonResponse


def request_id_of(request: HttpRequest | None) -> str:
    return getattr(request, "request_id", None) or uuid.uuid4().hex


def error_body(
    *, code: str, message: str, request: HttpRequest | None, fields: Any = None, **extra: Any
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    error.update(extra)
    error["request_id"] = request_id_of(request)
    return {"error": error}


def error_response(
    *, status: int, code: str, message: str, request: HttpRequest | None, **extra: Any
) -> JsonResponse:
    return JsonResponse(
        error_body(code=code, message=message, request=request, **extra), status=status
    )
