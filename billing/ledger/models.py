"""Billing rows that belong to one tenant, stored in that tenant's schema."""

from django.db import models


class Invoice(models.Model):
    stripe_invoice_id = models.CharField(max_length=64, unique=True)
    stripe_subscription_id = models.CharField(max_length=64, blank=True)
    number = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=20)
    currency = models.CharField(max_length=3)
    subtotal = models.IntegerField(default=0)
    total = models.IntegerField(default=0)
    amount_due = models.IntegerField(default=0)
    amount_paid = models.IntegerField(default=0)
    amount_remaining = models.IntegerField(default=0)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    hosted_invoice_url = models.URLField(max_length=500, blank=True)
    invoice_pdf = models.URLField(max_length=500, blank=True)
    next_payment_attempt = models.DateTimeField(null=True, blank=True)
    attempt_count = models.PositiveIntegerField(default=0)
    created = models.DateTimeField()
    stripe_state_at = models.IntegerField(default=0)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.number or self.stripe_invoice_id


class UsageRecord(models.Model):
    """A tenant's API requests of one minute (billing.services.usage collects them), shown
    in its usage report. Metered rows are also reported to Stripe: `identifier` is the meter
    event identifier, so a retried report never counts twice. A licensed row (counted while
    the price was not metered) is never reported: `reported_at` stays null for it."""

    meter_event_name = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField()
    occurred_at = models.DateTimeField()
    identifier = models.CharField(max_length=100, unique=True)
    metered = models.BooleanField(
        default=True, help_text="Counted on a metered price: billed, so reported to Stripe."
    )
    reported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # What the reporter reads: metered rows not reported yet, oldest first.
            models.Index(
                fields=["occurred_at", "id"],
                condition=models.Q(metered=True, reported_at__isnull=True),
                name="usage_metered_unreported_idx",
            ),
            models.Index(fields=["occurred_at"], name="usage_occurred_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.meter_event_name}:{self.quantity}"
