from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import (
            challenge,  # noqa: F401 - registers its system check
            signals,  # noqa: F401 - connects cache invalidation
        )
