"""One DRF exception handler: every error leaves as the same JSON shape."""

import logging
from typing import Any

from django import db
from django.core import exceptions as django_exceptions
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from saas.errors import ApplicationError

from .errors import error_body

logger = logging.getLogger("api.errors")

_DRF_CODES: dict[type[drf.APIException], str] = {
    drf.ParseError: "malformed_request",
    drf.NotAuthenticated: "not_authenticated",
    drf.AuthenticationFailed: "authentication_failed",
    drf.PermissionDenied: "permission_denied",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "rate_limited",
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    request = context.get("request")
    status, body, headers = _describe(exc, request)
    if status >= 500:
        logger.exception("unhandled error", extra={"request_id": body["error"]["request_id"]})
    return Response(body, status=status, headers=headers)


def _describe(exc: Exception, request: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    if isinstance(exc, ApplicationError):
        fields = exc.extra.get("fields")
        rest = {k: v for k, v in exc.extra.items() if k != "fields"}
        return (
            exc.status_code,
            error_body(code=exc.code, message=exc.message, request=request, fields=fields, **rest),
            {"Retry-After": str(exc.retry_after)} if exc.retry_after else {},
        )
    if isinstance(exc, drf.ValidationError):
        body = error_body(
            code="invalid", message="Invalid input.", request=request, fields=_fields(exc.detail)
        )
        return 400, body, {}
    if isinstance(exc, django_exceptions.RequestDataTooBig):
        return (
            413,
            error_body(
                code="request_too_large", message="Request body too large.", request=request
            ),
            {},
        )
    # Only a deliberate "not found" is a 404: routing's and DRF's Http404, and the NotFound
    # services raise (above). Any other missing row (Model.DoesNotExist) is a bug, not the
    # client's mistake: it falls through to the 500 below, logged with its request id.
    if isinstance(exc, Http404):
        return 404, error_body(code="not_found", message="Not found.", request=request), {}
    if isinstance(exc, django_exceptions.PermissionDenied):
        return (
            403,
            error_body(code="permission_denied", message="Permission denied.", request=request),
            {},
        )
    if isinstance(exc, drf.APIException):
        return _describe_api_exception(exc, request)
    if is_database_unavailable(exc):
        return 503, database_unavailable_body(request), {"Retry-After": "5"}
    return (
        500,
        error_body(code="server_error", message="Internal server error.", request=request),
        {},
    )


def is_database_unavailable(exc: BaseException | None) -> bool:
    """PostgreSQL down, restarting or unreachable (not a bad query: that stays a 500)."""
    return isinstance(exc, db.OperationalError | db.InterfaceError)


def database_unavailable_body(request: Any) -> dict[str, Any]:
    return error_body(
        code="database_unavailable",
        message="The service is temporarily unavailable; try again shortly.",
        request=request,
    )


def _describe_api_exception(
    exc: drf.APIException, request: Any
) -> tuple[int, dict[str, Any], dict[str, str]]:
    base = next((cls for cls in _DRF_CODES if isinstance(exc, cls)), None)
    code = _DRF_CODES[base] if base else None
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    wait = getattr(exc, "wait", None)
    if isinstance(exc, drf.Throttled) and wait is not None:
        headers["Retry-After"] = str(int(wait) + 1)
    detail: Any = exc.detail
    if isinstance(detail, dict) and "detail" in detail:  # simplejwt's {"detail", "code", ...}
        message, specific = str(detail["detail"]), detail.get("code")
    elif isinstance(detail, list | dict):
        message, specific = "Request failed.", None
    else:
        message, specific = str(detail), getattr(detail, "code", None)
    # A code the raiser chose (e.g. "token_wrong_tenant") beats the generic one.
    generic_code = base.default_code if base else exc.default_code
    if specific and str(specific) != str(generic_code):
        code = str(specific)
    body = error_body(code=code or str(exc.default_code), message=message, request=request)
    return exc.status_code, body, headers


def _fields(detail: Any) -> Any:
    """DRF's nested ErrorDetail lists -> plain {"field": ["message", ...]}."""
    if isinstance(detail, dict):
        return {key: _fields(value) for key, value in detail.items()}
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [str(item) for item in detail]
        return [_fields(item) for item in detail]
    return [str(detail)]
