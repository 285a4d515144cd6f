"""The Celery app. Tasks carry their tenant's schema (tenant-schemas-celery), so a worker runs
each task inside the schema it was sent from."""

import os
from typing import Any

from celery.signals import setup_logging
from tenant_schemas_celery.app import CeleryApp

from saas.observability.celery_signals import connect_signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Retries wait in the transactional outbox, not in the broker (saas/outbox/task_class.py).
app = CeleryApp("saas", task_cls="saas.outbox.task_class:OutboxTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Packages inside apps with tasks of their own.
app.autodiscover_tasks(["billing.webhooks"])
# Task outcomes and durations for /metrics (saas.observability).
connect_signals(app)


@setup_logging.connect
def _logging_as_django(loglevel: int | str | None = None, **_: Any) -> None:
    """Workers and beat log through settings.LOGGING, like the web processes: the same
    formatters (JSON in production) and the same redaction of secrets. Without a receiver
    here, Celery installs its own handlers, which would write task arguments (an invitation
    link, a reset link) as they are at DEBUG. The command line's `-l` still sets the level."""
    import logging
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)
