from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Public-schema billing: the plan catalog and each tenant's billing account (its Stripe
    customer and subscription mirror), which operators and webhooks query across tenants."""

    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - customer creation after signup, seat sync
