"""Celery: Redis broker, tasks acknowledged late so a killed worker's task runs again."""

from billing import beat as billing_beat
from billing.webhooks import beat as webhook_beat
from tenants import beat as tenant_beat

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
# Redis hands an unacknowledged task (its worker died) to another worker after this long.
# Longer than any countdown we schedule (webhook retries wait at most an hour), so Redis does
# not redeliver a task still waiting. Tests that kill a worker set it to seconds.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=6 * 3600)
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
# Where Redis keeps unacknowledged tasks. Workers that share a key restore each other's
# abandoned tasks; a test with a short visibility timeout uses a key of its own so it never
# redelivers the tasks of other workers on the same Redis.
if _unacked_key := env.str("CELERY_UNACKED_KEY", default=""):
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        unacked_key=_unacked_key,
        unacked_index_key=f"{_unacked_key}_index",
        unacked_mutex_key=f"{_unacked_key}_mutex",
    )
# The schedule lives beside the tasks it runs (plain dicts, importable before apps load).
CELERY_BEAT_SCHEDULE: dict = {
    **billing_beat.SCHEDULE,
    **webhook_beat.SCHEDULE,
    **tenant_beat.SCHEDULE,
}
