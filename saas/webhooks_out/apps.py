from django.apps import AppConfig


class WebhooksOutConfig(AppConfig):
    """Outbound webhooks (Standard Webhooks) to an organization's endpoints: a tenant app, its
    endpoints, events, deliveries and attempts in each organization's schema."""

    name = "saas.webhooks_out"
    label = "webhooks_out"
    verbose_name = "Outbound webhooks"
    default_auto_field = "django.db.models.BigAutoField"
