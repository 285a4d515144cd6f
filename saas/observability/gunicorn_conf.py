"""gunicorn settings for the web processes: `gunicorn -c python:saas.observability.gunicorn_conf
config.wsgi`. Workers, bind address and timeout come from the environment."""

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from gunicorn import util
from prometheus_client import multiprocess

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# The app's access-log middleware writes one structured line per request (without query
# strings, with the route pattern instead of the raw path); gunicorn's own would repeat it.
accesslog = None

# What gunicorn refuses before the application sees the request (a request line over
# limit_request_line: 414, too many or too large headers: 431, a malformed request: 400 ...),
# by its status. The codes are the application's (api.exceptions) where it has one.
_ERROR_CODES = {
    400: "malformed_request",
    403: "permission_denied",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "headers_too_large",
    501: "not_implemented",
}
_ERROR_MESSAGES = {
    414: "The request line is too long (at most 4094 bytes: method, path and query).",
    431: "Too many or too large request headers.",
}


def write_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's error page in the API's one error format: JSON, not HTML, so a client (and
    the fuzzer) parses it like any other error. gunicorn's own message is not repeated: it
    quotes the refused request line, which may hold a secret (it is logged redacted)."""
    code = _ERROR_CODES.get(status_int, "server_error")
    message = _ERROR_MESSAGES.get(status_int, reason + ".")
    body = json.dumps(
        {"error": {"code": code, "message": message, "request_id": uuid.uuid4().hex}}
    ).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Cache-Control: no-store\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


# gunicorn's workers call util.write_error for every request they refuse; it has no setting.
util.write_error = write_error


def on_starting(server: Any) -> None:
    """Start from an empty PROMETHEUS_MULTIPROC_DIR: files of an earlier run would be added in."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)


# gunicorn's own error log (worker boots and deaths, refused requests quoting their request
# line) through the app's formatter, so it is redacted like every other line.
# (LOG_FORMAT as config/settings/observability.py reads it.)
_DEV_OR_TEST = os.environ.get("DJANGO_ENV", "production") in {"dev", "test"}
_FORMATTER = os.environ.get("LOG_FORMAT", "text" if _DEV_OR_TEST else "json")
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "saas.observability.logging.JsonFormatter"},
        "text": {"()": "saas.observability.logging.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": _FORMATTER,
            "stream": "ext://sys.stdout",
        },
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": _FORMATTER,
            "stream": "ext://sys.stderr",
        },
    },
    # gunicorn's levels come from --log-level; these entries only choose the handlers.
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "propagate": False},
    },
}
