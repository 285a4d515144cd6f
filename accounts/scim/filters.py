"""The SCIM filters we answer (RFC 7644 section 3.4.2.2): one attribute, `eq`, one quoted
string. Anything else is 400 invalidFilter. The value is decoded as a JSON string and only
ever used as a bound query parameter: quotes, `or`, SQL or a filter inside the value are
matched literally, never evaluated."""

import json
import re
from dataclasses import dataclass

from .errors import invalid_filter

MAX_FILTER_LENGTH = 512
# attrPath SP "eq" SP compValue, where compValue is a JSON string (escapes included).
_EQ = re.compile(r'\s*([A-Za-z][\w.:-]*)\s+eq\s+("(?:[^"\\\x00-\x1f]|\\.)*")\s*', re.IGNORECASE)


@dataclass(frozen=True)
class EqFilter:
    attribute: str  # as named in `attributes`, whatever case the client used
    value: str


def filter_parse(raw: str | None, *, attributes: tuple[str, ...]) -> EqFilter | None:
    """`attributes`: the names that may be filtered on (compared case-insensitively, as
    SCIM attribute names are)."""
    if raw is None:
        return None
    if len(raw) > MAX_FILTER_LENGTH:
        raise invalid_filter(f"Filters are at most {MAX_FILTER_LENGTH} characters.")
    match = _EQ.fullmatch(raw)
    if match is None:
        raise invalid_filter(
            f'Only `<attribute> eq "<value>"` is supported, for {", ".join(attributes)}.'
        )
    name, quoted = match.groups()
    known = {a.lower(): a for a in attributes}
    if name.lower() not in known:
        raise invalid_filter(f"Filtering on {name!r} is not supported: {', '.join(attributes)}.")
    try:
        value = json.loads(quoted)
    except ValueError:
        raise invalid_filter("The filter's value is not a valid quoted string.") from None
    if "\x00" in value:
        raise invalid_filter("The filter's value contains a NUL character.")
    return EqFilter(attribute=known[name.lower()], value=value)
