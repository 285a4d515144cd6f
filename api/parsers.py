"""The one request body parser: JSON, with a nesting limit.

Python's decoder recurses per level: a 100 kB body of nested brackets raises RecursionError,
which DRF does not catch (a 500). Bodies our API accepts are a few levels deep; anything
deeper than API_MAX_JSON_DEPTH is refused as malformed before a serializer walks it.
"""

from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether `value` nests lists/objects more than `limit` levels (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Any
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.API_MAX_JSON_DEPTH
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON nested more than {limit} levels deep.") from None
        if _deeper_than(data, limit):
            raise ParseError(f"JSON nested more than {limit} levels deep.")
        return data
