"""The Celery app. Tasks carry their tenant's schema (tenant-schemas-celery), so a worker runs
each task inside the schema it was sent from."""

import os
from typing import Any

from celery.signals import setup_logging, task_postrun, task_prerun
from django.db import close_old_connections
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

# Database connections live across tasks as they live across requests. Celery's Django fix-up
# closes every connection before and after each task unless CELERY_DB_REUSE_MAX is set, so a
# worker opened a PostgreSQL connection per task: about 30 ms, most of an outbound webhook
# delivery's cost (bench/README.md). The fix-up now closes them only every 2**30 tasks, and a
# task begins and ends as Django begins and ends a request, with close_old_connections(): a
# connection is kept for CONN_MAX_AGE, dropped after an error, and health-checked
# (CONN_HEALTH_CHECKS) on its first use in the next task. A forked pool process still drops
# what it inherited (the fix-up's worker_process_init, which this does not change).
app.conf["CELERY_DB_REUSE_MAX"] = 2**30


def _connections_recycle(task: Any = None, **_: Any) -> None:
    # An eager task runs inside its caller (a request, a test's transaction): not ours to close.
    if task is not None and getattr(task.request, "is_eager", False):
        return
    close_old_connections()


task_prerun.connect(_connections_recycle, weak=False, dispatch_uid="config.celery.db_prerun")
task_postrun.connect(_connections_recycle, weak=False, dispatch_uid="config.celery.db_postrun")


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
