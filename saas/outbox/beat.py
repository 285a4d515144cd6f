"""Periodic outbox job (Celery beat), as plain data so settings can import it."""

RELAY_SECONDS = 5.0

SCHEDULE: dict[str, dict] = {
    # Rows whose hand-over after commit failed (the broker was away) or whose countdown was
    # too long to hold in a worker. A relay message older than a few runs is dropped: a
    # newer one does the same work.
    "outbox-relay": {
        "task": "saas.outbox.tasks.outbox_relay",
        "schedule": RELAY_SECONDS,
        "options": {"expires": 6 * RELAY_SECONDS},
    },
}
