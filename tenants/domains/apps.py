from django.apps import AppConfig


class CustomDomainsConfig(AppConfig):
    # An app of its own (label and migrations), so the tenants app's migrations stay its own.
    name = "tenants.domains"
    label = "custom_domains"
    verbose_name = "Custom domains"
    default_auto_field = "django.db.models.BigAutoField"
