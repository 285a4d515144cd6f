from django.apps import AppConfig


class OutboxConfig(AppConfig):
    """Work that must follow a commit, kept in PostgreSQL until a worker ran it (public
    schema)."""

    name = "saas.outbox"
    label = "outbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - a row is done once its task ran; relay at start
