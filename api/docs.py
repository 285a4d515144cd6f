"""OpenAPI pieces shared by every endpoint: the error body and the errors each kind of
endpoint can answer with."""

from typing import Any

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
                    child=serializers.JSONField(),
                    required=False,
                    help_text=(
                        "Per-field messages for invalid input: a list of strings, or for "
                        'nested input an object keyed by index or field ({"0": [...]}).'
                    ),
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
E500 = {500: error_doc("Unexpected server error: the body carries the request id, no trace.")}
E503 = {
    503: error_doc(
        "A dependency is down or not answering (database_unavailable, "
        "payment_provider_unavailable); retry after the Retry-After seconds."
    )
}
E5XX = {**E500, **E503}

ERRORS_READ = {**E401, **E403, **E404, **E429, **E5XX}
ERRORS_WRITE = {**E400, **E401, **E403, **E404, **E413, **E429, **E5XX}
ERRORS_PUBLIC_WRITE = {**E400, **E409, **E413, **E429, **E5XX}


def paginated(item: type[serializers.Serializer], *, name: str, count: bool = True) -> Any:
    """The envelope every list answers with, around `item`: `results`, `next` and `previous`
    (links, or null), and `count` for page-number lists (api.base.BaseApi.paginate); a keyset
    cursor list (api.pagination.KeysetCursorPagination) has no count (`count=False`)."""
    fields: dict[str, serializers.Field] = {}
    if count:
        fields["count"] = serializers.IntegerField(help_text="Items on all pages.")
    return inline_serializer(
        name=name,
        fields={
            **fields,
            "next": serializers.URLField(allow_null=True, help_text="The next page, if any."),
            "previous": serializers.URLField(allow_null=True, help_text="The previous page."),
            "results": item(many=True),
        },
    )
