"""The app's task class (config/celery.py): a task's retry waits in the outbox, not in the
broker. Celery would send the retry as a new message with an ETA, which

- is lost if the broker is away at that moment (Celery then rejects the running message);
- for a long backoff (an hour while Stripe is down) sits in a worker unacknowledged for
  longer than the broker's visibility timeout, and Redis delivers it a second time.

Written to the outbox instead, a short countdown is handed to Celery at once and a long one
waits in PostgreSQL until due. Celery's retry options (autoretry_for, retry_backoff, jitter,
max_retries) apply unchanged.
"""

import logging
from typing import Any

from celery.exceptions import Retry
from django.db import DatabaseError, connection
from tenant_schemas_celery.task import TenantTask

logger = logging.getLogger(__name__)


class OutboxTask(TenantTask):
    abstract = True

    def retry(  # Celery's own signature
        self,
        args: Any = None,
        kwargs: Any = None,
        exc: Any = None,
        throw: bool = True,
        eta: Any = None,
        countdown: Any = None,
        max_retries: Any = None,
        **options: Any,
    ) -> Any:
        request = self.request
        retries = request.retries + 1
        limit = self.max_retries if max_retries is None else max_retries

        def celery_retry() -> Any:
            return super(OutboxTask, self).retry(
                args, kwargs, exc, throw, eta, countdown, max_retries, **options
            )

        if (
            request.called_directly  # not in a worker: Celery raises the error
            or request.is_eager  # run in-process: Celery retries in-process
            or (limit is not None and retries > limit)  # Celery raises: no retry left
            or args
            or request.args  # our tasks take keyword arguments only
            or eta is not None
            or connection.in_atomic_block  # a row written here would roll back with it
        ):
            return celery_retry()
        if max_retries is not None:
            self.override_max_retries = max_retries  # as Celery's retry does, for autoretry
        delay = float(self.default_retry_delay if countdown is None else countdown)
        # Imported here: this class is loaded with the Celery app, before Django's models.
        from .services import outbox_enqueue

        try:
            outbox_enqueue(
                self.name,
                dict(request.kwargs or {}) if kwargs is None else kwargs,
                countdown=delay,
                retries=retries,
            )
        except DatabaseError:
            logger.warning("outbox unavailable; %s retries through the broker", self.name)
            return celery_retry()
        error = Retry(exc=exc, when=delay)
        if throw:
            raise error
        return error
