"""Periodic billing jobs (Celery beat), as plain data so settings can import it."""

SCHEDULE: dict[str, dict] = {
    # Seat syncs whose task was lost stay dirty; this runs them again.
    "billing-seat-sync-sweep": {"task": "billing.tasks.billing_seat_sync_sweep", "schedule": 60.0},
    # Closed per-minute usage buckets -> UsageRecord rows (every tenant's) -> Stripe meter
    # events (the metered rows only).
    "billing-usage-report": {
        "task": "billing.tasks.billing_usage_collect_and_report",
        "schedule": 60.0,
    },
    # past_due beyond BILLING_GRACE_DAYS -> read-only.
    "billing-dunning-escalate": {
        "task": "billing.tasks.billing_dunning_escalate",
        "schedule": 15 * 60.0,
    },
    # Seats or projects at 80% / 100% of the plan's limit -> one email each per period.
    "billing-usage-alerts": {
        "task": "billing.tenant_usage.tasks.usage_alerts_check",
        "schedule": 5 * 60.0,
    },
}
