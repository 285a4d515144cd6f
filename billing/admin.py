from django.contrib import admin

from .models import BillingAccount, Plan, Price


class PriceInline(admin.TabularInline):
    model = Price
    extra = 0
    readonly_fields = ("stripe_price_id",)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "active",
        "public",
        "trial_days",
        "seats_limit",
        "projects_limit",
        "api_requests_per_minute",
        "sort_order",
    )
    list_editable = ("sort_order",)
    inlines = [PriceInline]
    readonly_fields = ("stripe_product_id",)


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    list_display = (
        "tenant",
        "plan",
        "status",
        "quantity",
        "current_period_end",
        "cancel_at_period_end",
        "stripe_customer_id",
    )
    list_filter = ("status", "plan", "cancel_at_period_end", "price__interval")
    search_fields = (
        "tenant__slug",
        "tenant__name",
        "stripe_customer_id",
        "stripe_subscription_id",
    )
    readonly_fields = [f.name for f in BillingAccount._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False  # made at signup; Stripe is the source of truth


from .webhooks import admin as _webhooks_admin  # noqa: E402,F401
