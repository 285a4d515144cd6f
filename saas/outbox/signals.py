"""Celery's signals, connected in every process that runs tasks (OutboxConfig.ready)."""

import logging
from typing import Any

from celery.signals import task_postrun, worker_ready
from django.db import connections

from . import services

logger = logging.getLogger(__name__)


@task_postrun.connect(dispatch_uid="saas.outbox.finished")
def _task_finished(task: Any = None, **_: Any) -> None:
    """The row that carried this run is done: the task ran (and a retry has a row of its
    own). If this fails the row is handed over again later, and the task runs once more."""
    request = getattr(task, "request", None)
    if request is None:
        return
    outbox_id = (request.headers or {}).get(services.HEADER) or request.get(services.HEADER)
    if not outbox_id:
        return  # not sent through the outbox (a beat job, a direct call)
    try:
        services.outbox_task_finished(int(outbox_id))
    except Exception:  # noqa: BLE001 - never fail the task's own outcome
        logger.warning("outbox row %s not cleared; it will be sent again", outbox_id, exc_info=True)


@worker_ready.connect(dispatch_uid="saas.outbox.relay_at_start")
def _relay_at_worker_start(**_: Any) -> None:
    """What waited through an outage goes out as soon as a worker is up, beat or not."""
    try:
        services.outbox_relay()
    except Exception:  # noqa: BLE001 - beat's next run tries again
        logger.warning("outbox relay at worker start failed", exc_info=True)
    finally:
        connections.close_all()  # the worker's main process runs no other queries
