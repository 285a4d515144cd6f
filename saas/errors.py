"""The one error vocabulary. Services raise these; api.exceptions renders every error as
{"error": {"code", "message", "fields"?, "request_id"}} with the class's HTTP status."""

from typing import Any


class ApplicationError(Exception):
    status_code = 400
    default_code = "bad_request"
    # Seconds a client should wait before trying again: sent as Retry-After when set.
    retry_after: int | None = None

    def __init__(
        self, message: str, *, code: str | None = None, extra: dict[str, Any] | None = None
    ):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.extra = extra or {}


class InvalidInput(ApplicationError):
    """Input that is well-formed but not acceptable; `extra["fields"]` names the fields."""

    status_code = 400
    default_code = "invalid"


class NotAuthenticated(ApplicationError):
    status_code = 401
    default_code = "not_authenticated"


class PermissionDenied(ApplicationError):
    status_code = 403
    default_code = "permission_denied"


class NotFound(ApplicationError):
    status_code = 404
    default_code = "not_found"


class Conflict(ApplicationError):
    status_code = 409
    default_code = "conflict"


class Gone(ApplicationError):
    """Existed, but can no longer be used (an expired or spent link)."""

    status_code = 410
    default_code = "gone"


class TooManyRequests(ApplicationError):
    status_code = 429
    default_code = "rate_limited"


class ServiceUnavailable(ApplicationError):
    status_code = 503
    default_code = "service_unavailable"
    retry_after = 5
