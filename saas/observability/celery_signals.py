"""Celery task outcomes and durations from Celery's signals (they fire in the process that runs
the task: a pool child, which writes to PROMETHEUS_MULTIPROC_DIR)."""

import time
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_ready

from .metrics import CELERY_TASK_DURATION, CELERY_TASKS, multiprocess_dir, process_registry

_started: dict[str, float] = {}


def _task_name(task: Any, sender: Any) -> str:
    return str(getattr(task, "name", None) or getattr(sender, "name", None) or "unknown")


def _on_prerun(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _started[task_id] = time.perf_counter()


def _on_postrun(
    task_id: str | None = None,
    task: Any = None,
    sender: Any = None,
    state: str | None = None,
    **_: Any,
) -> None:
    name = _task_name(task, sender)
    CELERY_TASKS.labels(task=name, outcome=(state or "unknown").lower()).inc()
    started = _started.pop(task_id, None) if task_id else None
    if started is not None:
        CELERY_TASK_DURATION.labels(task=name).observe(time.perf_counter() - started)


def _on_worker_ready(**_: Any) -> None:
    """The worker's main process serves its pool's metrics on CELERY_METRICS_PORT, if set."""
    from django.conf import settings
    from prometheus_client import start_http_server

    port = getattr(settings, "CELERY_METRICS_PORT", None)
    if port and multiprocess_dir():
        start_http_server(int(port), registry=process_registry())


def connect_signals(app: Celery) -> None:
    del app  # the signals are global; the argument says which app asked
    task_prerun.connect(_on_prerun, weak=False, dispatch_uid="saas.observability.prerun")
    task_postrun.connect(_on_postrun, weak=False, dispatch_uid="saas.observability.postrun")
    worker_ready.connect(_on_worker_ready, weak=False, dispatch_uid="saas.observability.ready")
