"""Periodic tenant jobs (Celery beat), as plain data so settings can import it."""

SCHEDULE: dict[str, dict] = {
    # Archived tenants older than TENANT_PURGE_AFTER_DAYS: schema dropped, public rows deleted.
    "tenants-purge-archived": {
        "task": "tenants.tasks.tenants_purge_archived",
        "schedule": 6 * 3600.0,
    },
}
