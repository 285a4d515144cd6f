"""application/scim+json in and out, and every error of the SCIM service in RFC 7644's
shape (section 3.12): identity providers read `status`, `scimType` and `detail`, not the
API's {"error": ...} format."""

from typing import Any

from django.http import Http404
from rest_framework import exceptions, renderers
from rest_framework.response import Response

from api.parsers import JSONParser
from saas.errors import ApplicationError

from .errors import ERROR_SCHEMA, ScimError

SCIM_MEDIA_TYPE = "application/scim+json"


class ScimJSONParser(JSONParser):
    media_type = SCIM_MEDIA_TYPE


class ScimJSONRenderer(renderers.JSONRenderer):
    media_type = SCIM_MEDIA_TYPE
    # The same ?format= as JSON's: one format, so the schema offers no format parameter.
    format = "json"


def scim_error_body(*, status: int, detail: str, scim_type: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return body


def _described(exc: Exception) -> tuple[int, str, str | None]:
    if isinstance(exc, ScimError):
        return exc.status_code, exc.message, exc.scim_type
    if isinstance(exc, ApplicationError):
        if exc.status_code == 402:
            # The plan: SCIM has no 402, and IdPs treat 403 as "not permitted, do not retry".
            return 403, exc.message, None
        scim_type = "uniqueness" if exc.status_code == 409 else None
        return exc.status_code, exc.message, scim_type
    if isinstance(exc, Http404):
        return 404, "Not found.", None
    if isinstance(exc, exceptions.ParseError):
        return 400, f"The body is not valid JSON: {exc.detail}", "invalidSyntax"
    if isinstance(exc, exceptions.APIException):
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return exc.status_code, str(detail), None
    raise exc


def scim_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    status, detail, scim_type = _described(exc)
    response = Response(
        scim_error_body(status=status, detail=detail, scim_type=scim_type), status=status
    )
    wait = getattr(exc, "wait", None)  # exceptions.Throttled's
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        response["Retry-After"] = str(int(wait))
    if isinstance(exc, exceptions.MethodNotAllowed):
        view = context.get("view")
        if view is not None:
            response["Allow"] = ", ".join(view.allowed_methods)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        response["WWW-Authenticate"] = 'Bearer realm="scim"'
    return response
