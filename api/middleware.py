"""Request id and body-size limits, applied before tenant resolution; the bypass that takes
API requests past the HTML side's middlewares."""

import re
import threading
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
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


# What ApiBypassEndMiddleware was built with (the view), for the ApiBypassMiddleware built next
# in the same chain. Django builds a chain in one thread, from the last entry up.
_chain_being_built = threading.local()


class ApiBypassMiddleware:
    """API requests (paths under API_PATH_PREFIXES) go from here straight to the view; the
    middlewares between this one and ApiBypassEndMiddleware (the last entry of MIDDLEWARE)
    run for every other request only.

    Those are the HTML side's (sessions, CSRF, the session's user, messages, allauth, static
    files, the pages' Content-Security-Policy): API callers authenticate with bearer tokens,
    every API view is DRF's (CSRF-exempt, its own request.user), and none of them reads a
    session or leaves a message. They stay in MIDDLEWARE under their own names, so the checks
    that look for them there (the admin's, allauth's, `check --deploy`'s) still see them,
    and Django builds and calls them as always, process_view included.

    Which requests bypass is decided once, here, by the path's prefix: the same for every
    host, and the URL patterns of the API are all under it (config.urls_public and
    config.urls_tenants).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        view = getattr(_chain_being_built, "view", None)
        if view is None:
            raise ImproperlyConfigured(
                "api.middleware.ApiBypassEndMiddleware must be the last entry of MIDDLEWARE, "
                "after api.middleware.ApiBypassMiddleware."
            )
        del _chain_being_built.view
        # Django's view handler (URL resolving, process_view, the view, its exceptions).
        self.view: Callable[[HttpRequest], HttpResponse] = view
        self.prefixes = tuple(settings.API_PATH_PREFIXES)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(self.prefixes):
            return self.view(request)
        return self.get_response(request)


class ApiBypassEndMiddleware:
    """Where ApiBypassMiddleware's group ends: the last entry of MIDDLEWARE, so what it is
    built with is the view handler, which ApiBypassMiddleware calls for API requests."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        last = settings.MIDDLEWARE[-1]
        if last != f"{__name__}.{type(self).__qualname__}":
            raise ImproperlyConfigured(
                f"{__name__}.ApiBypassEndMiddleware must be the last entry of MIDDLEWARE "
                f"(it is {last!r})."
            )
        self.get_response = get_response
        _chain_being_built.view = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)
