"""Logging, metrics and error reporting (saas.observability)."""

from saas.observability.sentry import sentry_init

from .env import DJANGO_ENV, IS_DEV_OR_TEST, env

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# One JSON object per line for log shippers; readable lines for a person at a terminal.
STRIPE_LOG_LEVEL = env.str("STRIPE_LOG_LEVEL", default="WARNING")
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if IS_DEV_OR_TEST else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "saas.observability.logging.RequestContextFilter"}},
    "formatters": {
        "json": {"()": "saas.observability.logging.JsonFormatter"},
        "text": {"()": "saas.observability.logging.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
            "filters": ["request_context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Django's own one-line-per-request log of runserver repeats the access log, and so
        # do django.request's "Bad Request: /path" warnings for 4xx (5xx stay: ERROR).
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
        # The Stripe SDK logs two INFO lines per API call; its problems come as exceptions.
        "stripe": {"level": STRIPE_LOG_LEVEL},
    },
}

# /metrics: a bearer token, or an allow-list of client addresses/networks (the socket address:
# Prometheus scrapes each process directly, not through the proxy). With neither, production
# refuses every scrape; dev and test serve it openly.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
METRICS_REQUIRE_AUTH = not IS_DEV_OR_TEST
# A Celery worker's main process serves its pool's metrics on this port (0 = off); needs
# PROMETHEUS_MULTIPROC_DIR in the worker's environment.
CELERY_METRICS_PORT = env.int("CELERY_METRICS_PORT", default=0)

SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default=DJANGO_ENV)
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
sentry_init(
    dsn=SENTRY_DSN,
    environment=SENTRY_ENVIRONMENT,
    release=SENTRY_RELEASE,
    traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
)
