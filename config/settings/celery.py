"""Celery: Redis broker, tasks acknowledged late so a killed worker's task runs again."""

from billing import beat as billing_beat
from billing.webhooks import beat as webhook_beat
from saas.outbox import beat as outbox_beat
from tenants import beat as tenant_beat

from .base import REDIS_CONNECT_TIMEOUT_SECONDS, REDIS_SOCKET_TIMEOUT_SECONDS, REDIS_URL
from .env import env

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Test runs use a queue of their own so parallel checkouts sharing a Redis never swap tasks.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
# Redis hands a task that was delivered but not acknowledged (its worker died: tasks are
# acknowledged late) to another worker once it is this old: a killed worker's tasks run again
# within 5 minutes (plus the 10 s between restore sweeps below). It must outlast anything a
# live worker holds unacknowledged, or Redis delivers that a second time:
# - a running task: none runs longer than CELERY_TASK_TIME_LIMIT (the pool kills it). Each
#   is bounded by its outside calls: customer creation, a seat sync or a webhook's handler
#   makes 1 or 2 Stripe calls (measured against the offline Stripe: 5 to 310 ms a task), at
#   most ~17 s each when Stripe hangs (config/settings/timeouts.py); an email is one SMTP
#   session (EMAIL_TIMEOUT). The beat jobs that loop over tenants (usage report, purge) are
#   the ones to fan out per tenant before they near the limit;
# - a task waiting for its countdown: countdowns over 30 s, and every retry's backoff, wait
#   in the outbox (saas/outbox) and reach the broker only when due.
# Tests that kill a worker set it to seconds.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=240)
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    # Every worker looks for tasks past the visibility timeout every 10 s (kombu's default
    # scans only every 10th look, so 100 s, a third of the timeout).
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
}
# Work that must follow a commit goes through the outbox (saas/outbox): a task handed to the
# broker and still not run this long after is handed over again (the broker lost it: a Redis
# that restarted empty). Longer than the broker's own redelivery of a killed worker's task
# (visibility timeout + sweep + the task's run), so normally that comes first.
OUTBOX_REDELIVER_AFTER_SECONDS = env.int("OUTBOX_REDELIVER_AFTER_SECONDS", default=900)
# A broker that hangs must not hold whoever publishes (a request's task.delay()): each broker
# socket call gives up after the Redis timeouts (kombu's default is to wait forever), and a
# publish is tried twice (a pooled connection Redis dropped fails once), then raises.
CELERY_BROKER_TRANSPORT_OPTIONS.update(
    socket_timeout=REDIS_SOCKET_TIMEOUT_SECONDS,
    socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
)
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_CONNECT_TIMEOUT_SECONDS
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
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
    **outbox_beat.SCHEDULE,
}
