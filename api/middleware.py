"""Request id and body-size limits, applied before tenant resolution."""

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .errors import error_response

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


class RequestIdMiddleware:
    """Tags every request with an id (a proxy's X-Request-ID if sane) and echoes it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class BodySizeLimitMiddleware:
    """Refuses a declared-too-large body with 413 before anything reads it.

    Django itself raises RequestDataTooBig only when a view reads the body; bodies without a
    Content-Length are still caught there (api.exceptions maps that to 413 too).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(
                status=400,
                code="malformed_request",
                message="Bad Content-Length.",
                request=request,
            )
        if limit is not None and declared > limit:
            return error_response(
                status=413,
                code="request_too_large",
                message=f"Request body too large (limit {limit} bytes).",
                request=request,
            )
        return self.get_response(request)
