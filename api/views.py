"""Plain-Django fallbacks so even errors outside DRF use the one error format."""

from django.http import HttpRequest, JsonResponse

from .errors import error_response


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(status=404, code="not_found", message="Not found.", request=request)


def server_error(request: HttpRequest) -> JsonResponse:
    return error_response(
        status=500, code="server_error", message="Internal server error.", request=request
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(status=400, code="bad_request", message="Bad request.", request=request)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(
        status=403, code="permission_denied", message="Permission denied.", request=request
    )
