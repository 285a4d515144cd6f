from django.apps import AppConfig


class TenantUsageConfig(AppConfig):
    """Its own app label and migrations; the alerts table lives in the public schema."""

    name = "billing.tenant_usage"
    label = "tenant_usage"
    verbose_name = "Usage for tenants"
    default_auto_field = "django.db.models.BigAutoField"
