"""The billing app's models: the plan catalog, each tenant's billing account and its seat
sync (billing.py), and the Stripe events received with their notifications (webhooks.py).
Django loads an app's models from this package."""

from .billing import BillingAccount, Interval, Plan, Price, SeatSync, SubscriptionStatus
from .webhooks import EventSource, EventState, WebhookEvent, WebhookNotification

__all__ = [
    "BillingAccount",
    "EventSource",
    "EventState",
    "Interval",
    "Plan",
    "Price",
    "SeatSync",
    "SubscriptionStatus",
    "WebhookEvent",
    "WebhookNotification",
]
