"""Times given to billing commands on the command line."""

from datetime import UTC, datetime

from django.core.management.base import CommandError


def moment_parse(value: str) -> int:
    """Unix seconds, or an ISO date/datetime (UTC unless it says otherwise)."""
    if value.isdigit():
        return int(value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"Not a date, datetime or unix time: {value!r}") from exc
    return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())
