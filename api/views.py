"""Plain-Django fallbacks so even errors outside DRF use the one error format."""

import sys

from django.http import HttpRequest, JsonResponse

from .errors import error_response
from .exceptions import database_unavailable_body, is_database_unavailable


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(status=404, code="not_found", message="Not found.", request=request)


def server_error(request: HttpRequest) -> JsonResponse:
    # Called while the exception is being handled (also for middleware errors, e.g. tenant
    # resolution when PostgreSQL is away): a database outage is a 503, not a 500.
    if is_database_unavailable(sys.exc_info()[1]):
        response = JsonResponse(database_unavailable_body(request), status=503)
        response["Retry-After"] = "5"
        return response
    return error_response(
        status=500, code="server_error", message="Internal server error.", request=request
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(status=400, code="bad_request", message="Bad request.", request=request)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(
        status=403, code="permission_denied", message="Permission denied.", request=request
    )
