from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The per-tenant audit log: who did what to which resource, when and from where."""

    name = "saas.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"
