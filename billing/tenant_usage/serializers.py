from rest_framework import serializers

from api.serializers import ChoiceField


class UsageMetricOutput(serializers.Serializer):
    used = serializers.IntegerField()
    limit = serializers.IntegerField(allow_null=True, help_text="null: unlimited")
    unit = serializers.CharField()


class UsageMetricsOutput(serializers.Serializer):
    api_requests = UsageMetricOutput(
        help_text="API requests of the period, on every plan (those refused with 429 aside)."
    )
    seats = UsageMetricOutput(help_text="Members, the owner included.")
    projects = UsageMetricOutput(help_text="Projects, archived ones too.")
    webhook_deliveries = UsageMetricOutput(
        help_text="Outbound webhook deliveries with at least one attempt in the period."
    )
    metered_units = UsageMetricOutput(
        required=False,
        help_text="On a metered price only: the units billed (the API requests made while the "
        "price was metered).",
    )


class UsagePeriodOutput(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    kind = ChoiceField(
        choices=["subscription", "calendar_month"],
        help_text="The subscription's current period, or the calendar month (UTC) without one.",
    )


class UsageDayOutput(serializers.Serializer):
    date = serializers.DateField()
    api_requests = serializers.IntegerField()
    webhook_deliveries = serializers.IntegerField()


class NextInvoiceOutput(serializers.Serializer):
    amount_due = serializers.IntegerField(help_text="Minor units of `currency`.")
    currency = serializers.CharField()
    period_end = serializers.DateTimeField(allow_null=True)


class UsageReportOutput(serializers.Serializer):
    period = UsagePeriodOutput()
    metrics = UsageMetricsOutput()
    daily = UsageDayOutput(many=True, help_text="Each day (UTC) of the period so far; 0 if none.")
    next_invoice = NextInvoiceOutput(
        allow_null=True, help_text="Stripe's preview of the upcoming invoice; null without."
    )
    next_invoice_unavailable = serializers.CharField(
        allow_null=True,
        help_text="Why next_invoice is null: no_subscription, or the payment provider's "
        "error code when Stripe could not be asked.",
    )
