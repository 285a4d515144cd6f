from .environment import environment_load

# Before anything reads the environment: prometheus_client does at import (via .celery).
environment_load()

from .celery import app as celery_app  # noqa: E402

__all__ = ["celery_app"]
