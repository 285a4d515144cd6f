"""The plan catalog and each tenant's billing account. Money is integer minor units plus an
ISO currency; Stripe is the source of truth and these rows mirror it."""

import uuid

from django.db import models


class Interval(models.TextChoices):
    MONTH = "month", "Monthly"
    YEAR = "year", "Yearly"


class Plan(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    public = models.BooleanField(default=True, help_text="Listed in GET /api/v1/plans/.")
    trial_days = models.PositiveIntegerField(default=0)
    sort_order = models.PositiveIntegerField(default=0)
    # Entitlements. None means unlimited.
    seats_limit = models.PositiveIntegerField(null=True, blank=True)
    projects_limit = models.PositiveIntegerField(null=True, blank=True)
    api_requests_per_minute = models.PositiveIntegerField(default=60)
    features = models.JSONField(default=list, blank=True, help_text="Feature flags, e.g. sso.")
    stripe_product_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.code

    @property
    def is_free(self) -> bool:
        return not self.prices.filter(active=True).exclude(amount=0).exists()


class Price(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="prices")
    lookup_key = models.SlugField(max_length=100, unique=True)
    amount = models.PositiveIntegerField(help_text="Minor units (cents) per interval (per seat).")
    currency = models.CharField(max_length=3, default="usd")
    interval = models.CharField(max_length=8, choices=Interval.choices, default=Interval.MONTH)
    per_seat = models.BooleanField(default=False)
    metered = models.BooleanField(default=False)
    meter_event_name = models.CharField(max_length=100, blank=True)
    active = models.BooleanField(default=True)
    stripe_price_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["plan__sort_order", "interval", "id"]

    def __str__(self) -> str:
        return self.lookup_key


class SubscriptionStatus(models.TextChoices):
    NONE = "none", "No subscription (free plan)"
    INCOMPLETE = "incomplete", "Incomplete"
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    UNPAID = "unpaid", "Unpaid"
    CANCELED = "canceled", "Canceled"
    PAUSED = "paused", "Paused"
    INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete (expired)"


class BillingAccount(models.Model):
    """One per tenant: its Stripe customer and a mirror of its (single) subscription."""

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="billing_account"
    )
    # Made before the first attempt to create the customer, so every retry reuses it.
    customer_idempotency_key = models.UUIDField(default=uuid.uuid4, editable=False)
    stripe_customer_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    price = models.ForeignKey(
        Price, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    stripe_subscription_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    stripe_subscription_item_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=20, choices=SubscriptionStatus.choices, default=SubscriptionStatus.NONE
    )
    quantity = models.PositiveIntegerField(default=1)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    # A downgrade waits for the period end; this is what comes then.
    scheduled_price = models.ForeignKey(
        Price, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    past_due_since = models.DateTimeField(null=True, blank=True)
    # The tenant's schema holds metered usage rows not yet reported to Stripe: the reporter
    # visits it even after the price stopped being metered (the minutes before a move to a
    # licensed price, or before a cancellation, are still billed).
    usage_unreported = models.BooleanField(default=False)
    # Stripe's `created` of the newest event applied, so older events never overwrite newer.
    stripe_state_at = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.tenant_id}:{self.plan_id}:{self.status}"


class SeatSync(models.Model):
    """A pending "make the Stripe quantity match the members" job per tenant. Membership
    changes mark it dirty; one task drains it, so bursts of changes become one update and a
    crash between the change and the update loses nothing (the row stays dirty)."""

    account = models.OneToOneField(
        BillingAccount, on_delete=models.CASCADE, related_name="seat_sync"
    )
    dirty_since = models.DateTimeField(null=True, blank=True)
    synced_quantity = models.PositiveIntegerField(null=True, blank=True)
    idempotency_key = models.UUIDField(default=uuid.uuid4)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"seats:{self.account_id}:{'dirty' if self.dirty_since else 'clean'}"
