"""OpenAPI pieces shared by every endpoint: the error body and the errors each kind of
endpoint can answer with."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorDetail",
            fields={
                "code": serializers.CharField(help_text="Stable machine-readable code."),
                "message": serializers.CharField(help_text="Human-readable explanation."),
                "fields": serializers.DictField(
                    child=serializers.ListField(child=serializers.CharField()),
                    required=False,
                    help_text="Per-field messages for invalid input.",
                ),
                "request_id": serializers.CharField(help_text="Quote it when reporting."),
            },
        )
    },
)


def error_doc(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorSerializer, description=description)


E400 = {400: error_doc("Invalid input, with per-field messages.")}
E401 = {401: error_doc("Missing or invalid credentials.")}
E402 = {402: error_doc("Beyond the plan (entitlement_exceeded, naming it) or card declined.")}
E403 = {403: error_doc("Not allowed for this user, role or organization status.")}
E404 = {404: error_doc("Not found (or an unknown host).")}
E409 = {409: error_doc("Conflicts with existing data.")}
E410 = {410: error_doc("The link was used, revoked or has expired.")}
E413 = {413: error_doc("Request body too large.")}
E429 = {429: error_doc("Too many requests; see Retry-After.")}

ERRORS_READ = {**E401, **E403, **E404, **E429}
ERRORS_WRITE = {**E400, **E401, **E403, **E404, **E413, **E429}
ERRORS_PUBLIC_WRITE = {**E400, **E409, **E413, **E429}
