"""Log formatting: one JSON object per line (production) or readable text (dev), the
request's context on every record, and redaction of secrets whatever logged them."""

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest

from .context import request_fields

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "request_id", "tenant", "user_id", "request", "server_time"}
)
_REDACTED = "[REDACTED]"
# Shapes of secrets, wherever they appear in a message, an extra or a traceback.
_PATTERNS = [
    # Authorization / Cookie / Stripe-Signature header values, as header lines or dict items.
    re.compile(
        r"(?i)((?:authorization|proxy-authorization|cookie|set-cookie|stripe-signature|"
        r"x-api-key|http_authorization|http_cookie|http_stripe_signature)['\"]?\s*[:=]\s*['\"]?)"
        r"[^'\"\n}]+"
    ),
    # key=value or "key": "value" for secret-named keys.
    re.compile(
        r"(?i)((?:password\d?|new_password\d?|old_password|passwd|secret|client_secret|token|"
        r"access|refresh|api_key|signature)['\"]?\s*[:=]\s*['\"]?)[^'\"&\s,}]+"
    ),
    re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\b(?:sk|rk|pk)_(?:test|live)_[A-Za-z0-9]+"),
    re.compile(r"\bwhsec_[A-Za-z0-9_]+"),
    # A SCIM token (accounts.scim): scim_ and token_urlsafe(32), 43 characters.
    re.compile(r"\bscim_[A-Za-z0-9_-]{40,}"),
    # A JWT: three base64url parts, the first two starting with '{"'.
    re.compile(r"\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),
    re.compile(r"\bt=\d+,v1=[0-9a-f]+(?:,v\d=[0-9a-f]+)*"),
    # Secrets in URL paths: invitation tokens (API and landing page; not the numeric ids of
    # /invitations/<id>/, nor route patterns), password-reset uid/token, and as a backstop
    # any long opaque path segment with letters and digits (what token_urlsafe and signing
    # make). Django's request loggers, gunicorn and proxies all write paths.
    re.compile(r"(/invitations/)(?!\d+/|[<{])[^/\s'\"?#]+"),
    re.compile(r"(/reset-password/)[^\s'\"?#]+"),
    re.compile(
        r"(/)(?=[A-Za-z0-9_-]{24,})(?=[^/\s]*\d)(?=[^/\s]*[A-Za-z])[A-Za-z0-9_-]{24,}(?=[/?#\s'\"]|$)"
    ),
]


def _configured_secrets() -> list[str]:
    """Exact values to scrub: the settings that hold secrets (read once they are ready)."""
    from django.conf import settings

    if not settings.configured:
        return []
    values: list[str] = []
    for name in (
        "SECRET_KEY",
        "JWT_SIGNING_KEY",
        "STRIPE_SECRET_KEY",
        "METRICS_TOKEN",
        "SSO_ENCRYPTION_KEY",
    ):
        value = getattr(settings, name, "")
        if isinstance(value, str) and len(value) >= 8:
            values.append(value)
    secret_lists = ("STRIPE_WEBHOOK_SECRETS", "MFA_ENCRYPTION_KEYS")
    for value in (v for name in secret_lists for v in getattr(settings, name, ()) or ()):
        if isinstance(value, str) and len(value) >= 8:
            values.append(value)
    return sorted(values, key=len, reverse=True)


def redact(text: str) -> str:
    for value in _configured_secrets():
        if value in text:
            text = text.replace(value, _REDACTED)
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + _REDACTED, text)
        else:
            text = pattern.sub(_REDACTED, text)
    return text


class RequestContextFilter(logging.Filter):
    """Puts the current request's id, tenant and user on every record (None outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Django's request logger logs 4xx/5xx after the middleware has returned, with the
        # request attached to the record: take the context from there.
        request = getattr(record, "request", None)
        fields = request_fields(request if isinstance(request, HttpRequest) else None)
        for name in ("request_id", "tenant", "user_id"):
            if not hasattr(record, name):
                setattr(record, name, fields.get(name))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "tenant": getattr(record, "tenant", None),
            "user_id": getattr(record, "user_id", None),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return redact(json.dumps(entry, default=str))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = None
        line = super().format(record)
        # Which organization a line is about, on the line itself (access lines included).
        tenant = getattr(record, "tenant", None)
        if tenant and "\n" not in line:
            line += f" tenant={tenant}"
        elif tenant:
            first, rest = line.split("\n", 1)
            line = f"{first} tenant={tenant}\n{rest}"
        return redact(line)
