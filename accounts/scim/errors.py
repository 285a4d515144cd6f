"""SCIM's errors (RFC 7644 section 3.12). They are ApplicationErrors, so anything raising one
outside /scim/v2/ still renders in the API's own format; the SCIM views render them (and
every other error) as {"schemas": [ERROR], "status", "scimType"?, "detail"}."""

from saas.errors import ApplicationError

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(ApplicationError):
    def __init__(self, detail: str, *, status: int = 400, scim_type: str | None = None):
        super().__init__(detail, code=scim_type or "scim_error")
        self.status_code = status
        self.scim_type = scim_type


def invalid_value(detail: str) -> ScimError:
    return ScimError(detail, status=400, scim_type="invalidValue")


def invalid_syntax(detail: str) -> ScimError:
    return ScimError(detail, status=400, scim_type="invalidSyntax")


def invalid_filter(detail: str) -> ScimError:
    return ScimError(detail, status=400, scim_type="invalidFilter")


def invalid_path(detail: str) -> ScimError:
    return ScimError(detail, status=400, scim_type="invalidPath")


def no_target(detail: str) -> ScimError:
    return ScimError(detail, status=400, scim_type="noTarget")


def mutability(detail: str) -> ScimError:
    return ScimError(detail, status=400, scim_type="mutability")


def uniqueness(detail: str) -> ScimError:
    return ScimError(detail, status=409, scim_type="uniqueness")


def not_found(detail: str) -> ScimError:
    return ScimError(detail, status=404)


def forbidden(detail: str) -> ScimError:
    return ScimError(detail, status=403)
