from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import schema, signals  # noqa: F401 - OpenAPI extension, cache invalidation
        from .oauth import schema as oauth_schema  # noqa: F401 - OpenAPI extension
