"""Outbound webhooks, in each organization's schema: an endpoint it registered, the events
that happened, one delivery per (event, endpoint) and one attempt row per HTTP request.

An event and its deliveries are written in the transaction of the change that caused them
(services.webhook_event_record), and their first attempts are queued through the outbox
(saas.outbox) in that same transaction (one row per event: the delivery's task, or a fan-out
task for several): a broker outage delays a delivery, never loses it."""

from django.db import models


class WebhookEndpoint(models.Model):
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=500, blank=True)
    # Event types and wildcards ("project.*") from catalog.EVENT_TYPES.
    event_types = models.JSONField(default=list)
    enabled = models.BooleanField(default=True)
    # The signing secrets ("whsec_..."), encrypted (crypto.py); shown once, when made.
    secret_encrypted = models.TextField()
    # After a rotation the previous secret signs too, until this time (both signatures sent).
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Since when every attempt has failed (None after any success): auto-disable's clock.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    # The Standard Webhooks message id (the `webhook-id` header): the same for every attempt
    # and replay of this event, so receivers can drop duplicates.
    msg_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=100)
    data = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.msg_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


# What a time range's replay may be limited to.
REPLAYABLE_STATUSES = [
    (DeliveryStatus.FAILED.value, DeliveryStatus.FAILED.label),
    (DeliveryStatus.DELIVERED.value, DeliveryStatus.DELIVERED.label),
]


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    # Attempts in the current run (a replay starts a new run; every attempt keeps its row).
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker that took this delivery holds it until then (a second copy of the task waits;
    # a worker killed mid-request leaves it to the next copy once this has passed).
    lease_until = models.DateTimeField(null=True, blank=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["endpoint", "-created_at", "-id"], name="whdelivery_endpoint_idx"),
            models.Index(fields=["status", "next_attempt_at"], name="whdelivery_due_idx"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    attempted_at = models.DateTimeField()
    succeeded = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField()
    # The first bytes of the answer (at most WEBHOOKS_RESPONSE_MAX_BYTES are ever read).
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        return f"attempt {self.pk} of delivery {self.delivery_id}"
