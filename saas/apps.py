from django.apps import AppConfig


class SaasConfig(AppConfig):
    """The product kernel as an app: email templates and shared tasks."""

    name = "saas"
    label = "saas"
