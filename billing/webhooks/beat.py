"""Periodic webhook and billing jobs (Celery beat), as plain data so settings can import it.

Trial reminders and dunning emails follow Stripe's own events (trial_will_end 3 days before
the end, invoice.payment_failed at each failed attempt), so they need no schedule; dunning
escalation (past due -> read-only) is in billing/beat.py.
"""

from celery.schedules import crontab

SCHEDULE: dict[str, dict] = {
    # Re-queue events a lost message or a killed worker left pending or processing.
    "billing-webhook-events-sweep": {
        "task": "billing.webhooks.tasks.webhook_events_sweep",
        "schedule": 60.0,
    },
    # Ingest Stripe events that never reached the webhook (delivery_success=false).
    "billing-webhook-events-reconcile": {
        "task": "billing.webhooks.tasks.webhook_events_reconcile",
        "schedule": 15 * 60.0,
    },
    # Correct drift: every account's subscription and invoices as Stripe has them.
    "billing-subscriptions-sync-nightly": {
        "task": "billing.webhooks.tasks.billing_sync_all",
        "schedule": crontab(hour=3, minute=17),
    },
}
