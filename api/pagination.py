import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, Q, QuerySet
from rest_framework import pagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from saas.errors import InvalidInput


class PageNumberPagination(pagination.PageNumberPagination):
    """?page=N&page_size=M; page_size is capped so no client can ask for the whole table."""

    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE


def _sane(value: Any) -> bool:
    """A sort value the database can compare (no NUL, no integer beyond a smallint)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**15) < value < 2**15
    return isinstance(value, str) and "\x00" not in value


class KeysetCursorPagination:
    """Opaque `?cursor=` pagination over one ordering field plus the primary key.

    The cursor holds the sort value and id of the row it continues from, so a page costs one
    indexed query (no COUNT, no OFFSET) and rows inserted meanwhile neither repeat nor vanish.
    The ordering field must be non-null (callers coalesce nullable ones). A cursor that was
    tampered with or does not fit the ordering -> 400 `invalid_cursor`. The queryset may
    yield model instances or, from `.values()`, dicts (which must hold the sort field and
    "id"): the cursors are the same either way.
    """

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def __init__(self) -> None:
        self.page_size = settings.API_PAGE_SIZE
        self.max_page_size = settings.API_MAX_PAGE_SIZE

    # ---- request side -----------------------------------------------------------------

    def _page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise InvalidInput(
                "page_size must be a positive integer.",
                extra={"fields": {"page_size": ["A positive integer."]}},
            )
        return min(size, self.max_page_size)

    def _decode(self, request: Request, ordering: str, field: Any) -> tuple[Any, int, bool] | None:
        raw = request.query_params.get(self.cursor_query_param)
        if raw is None:
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(raw.encode()).decode())
            if data["o"] != ordering or not isinstance(data["id"], int):
                raise ValueError("cursor of another ordering")
            if not 0 < data["id"] < 2**63 or not _sane(data["v"]):
                raise ValueError("not a row position")
            value = field.to_python(data["v"])
            return value, data["id"], bool(data["r"])
        except (ValueError, TypeError, KeyError, binascii.Error, DjangoValidationError):
            raise InvalidInput(
                "Invalid cursor; use the next or previous link of a list response.",
                code="invalid_cursor",
                extra={"fields": {"cursor": ["Invalid cursor."]}},
            ) from None

    @staticmethod
    def _encode(ordering: str, value: Any, pk: int, reverse: bool) -> str:
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        raw = json.dumps({"o": ordering, "v": value, "id": pk, "r": reverse})
        return base64.urlsafe_b64encode(raw.encode()).decode()

    # ---- the page -----------------------------------------------------------------------

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, *, ordering: str, sort_field: str
    ) -> list[Any]:
        """`ordering` is what the client asked for (e.g. "-priority"); `sort_field` names the
        non-null column or annotation to sort on."""
        self.request, self.ordering = request, ordering
        descending = ordering.startswith("-")
        model_field = queryset.model._meta.get_field(ordering.lstrip("-"))
        cursor = self._decode(request, ordering, model_field)
        size = self._page_size(request)
        reverse = bool(cursor and cursor[2])
        backwards = descending != reverse  # walk this query in descending order?
        order = [f"-{sort_field}", "-id"] if backwards else [sort_field, "id"]
        queryset = queryset.order_by(*order)
        if cursor is not None:
            value, pk, _ = cursor
            op = "lt" if backwards else "gt"
            queryset = queryset.filter(
                Q(**{f"{sort_field}__{op}": value}) | Q(**{sort_field: value, f"id__{op}": pk})
            )
        rows = list(queryset[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        if reverse:
            rows.reverse()
        self.has_next = more if not reverse else cursor is not None
        self.has_previous = (cursor is not None) if not reverse else more
        self.sort_field, self.rows = sort_field, rows
        return rows

    def _position(self, row: Model | Mapping[str, Any]) -> tuple[Any, int]:
        """The sort value and id of a row, a model instance or a dict of `.values()`."""
        if isinstance(row, Mapping):
            return row[self.sort_field], row["id"]
        return getattr(row, self.sort_field), row.pk

    def _link(self, row: Model | Mapping[str, Any], reverse: bool) -> str:
        value, pk = self._position(row)
        cursor = self._encode(self.ordering, value, pk, reverse)
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_next_link(self) -> str | None:
        if not self.has_next or not self.rows:
            return None
        return self._link(self.rows[-1], reverse=False)

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        if not self.rows:
            return remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        return self._link(self.rows[0], reverse=True)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
        )

    @staticmethod
    def get_paginated_response_schema(schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }
