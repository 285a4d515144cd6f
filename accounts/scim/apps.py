from django.apps import AppConfig


class ScimConfig(AppConfig):
    """Its own app label and migrations, so its tables never share a migration history
    with accounts'."""

    name = "accounts.scim"
    label = "scim"
    verbose_name = "SCIM provisioning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import schema  # noqa: F401 - OpenAPI extension for the SCIM token scheme
