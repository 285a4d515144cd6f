"""Periodic billing jobs (Celery beat), as plain data so settings can import it."""

SCHEDULE: dict[str, dict] = {}
