from django.apps import AppConfig


class EmailsConfig(AppConfig):
    """What happened to the emails the workers could not send (public schema)."""

    name = "saas.emails"
    label = "emails"
    default_auto_field = "django.db.models.BigAutoField"
