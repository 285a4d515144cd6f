"""Celery: Redis broker, tasks acknowledged late so a killed worker's task runs again."""

from billing import beat as billing_beat
from billing.webhooks import beat as webhook_beat

from .base import REDIS_URL
from .env import env

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Test runs use a queue of their own so parallel checkouts sharing a Redis never swap tasks.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
# Longer than any countdown we schedule, so Redis does not redeliver a task still waiting.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
# The schedule lives beside the tasks it runs (plain dicts, importable before apps load).
CELERY_BEAT_SCHEDULE: dict = {**billing_beat.SCHEDULE, **webhook_beat.SCHEDULE}
