"""Stripe events as received, and the notifications they caused. Both live in the public
schema: an event is stored before anyone knows which tenant it belongs to."""

from django.db import models


class EventState(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    DONE = "done", "Done"
    IGNORED = "ignored", "Ignored (unhandled type or unknown customer)"
    FAILED = "failed", "Failed"


class EventSource(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    RECONCILE = "reconcile", "Reconciliation (listed from Stripe)"


class WebhookEvent(models.Model):
    """One Stripe event. `stripe_event_id` is unique, so however often Stripe (or the
    reconciliation) delivers it, it is stored, and processed to completion, once."""

    stripe_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    # Stripe's `created` (unix seconds): when the change happened, not when it reached us.
    stripe_created = models.BigIntegerField()
    livemode = models.BooleanField(default=False)
    payload = models.JSONField()
    source = models.CharField(
        max_length=16, choices=EventSource.choices, default=EventSource.WEBHOOK
    )
    state = models.CharField(max_length=16, choices=EventState.choices, default=EventState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    note = models.CharField(max_length=200, blank=True, help_text="What processing did.")
    account = models.ForeignKey(
        "billing.BillingAccount",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    received_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-stripe_created", "-id"]
        indexes = [
            models.Index(fields=["state", "received_at"], name="webhook_state_idx"),
            models.Index(fields=["type", "stripe_created"], name="webhook_type_idx"),
            models.Index(fields=["stripe_created"], name="webhook_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.stripe_event_id} {self.type} ({self.state})"


class WebhookNotification(models.Model):
    """An email an event caused, keyed by (event, kind): the unique key is what makes a
    repeated or replayed event send nothing a second time."""

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    recipients = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "kind"], name="webhook_notification_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.event_id}"
