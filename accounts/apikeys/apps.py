from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    """Its own app label and migrations, like accounts.scim."""

    name = "accounts.apikeys"
    label = "apikeys"
    verbose_name = "API keys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import schema  # noqa: F401 - OpenAPI extension for the API key scheme
