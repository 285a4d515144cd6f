"""One audit entry per audited change, kept in the tenant's own schema (so it is as isolated
as the data it describes and leaves with the tenant)."""

from django.db import models
from django.utils import timezone


class ActorKind(models.TextChoices):
    USER = "user", "A person's own login"
    OAUTH2_APP = "oauth2_app", "An OAuth2 application acting for a user"
    SYSTEM = "system", "The platform itself (Stripe webhooks, scheduled jobs, operators)"


class AuditEntry(models.Model):
    created_at = models.DateTimeField(default=timezone.now)
    # Users live in the public schema: a plain id and the email as it was, so an entry stays
    # readable after the account is gone.
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_email = models.CharField(max_length=254, blank=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_app = models.CharField(max_length=100, blank=True, help_text="OAuth2 client id.")
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64, blank=True)
    # {"field": {"before": ..., "after": ...}}; secrets never go in here.
    changes = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="audit_newest"),
            models.Index(fields=["action", "-created_at"], name="audit_action"),
            models.Index(fields=["target_type", "target_id"], name="audit_target"),
            models.Index(fields=["actor_id", "-created_at"], name="audit_actor"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%dT%H:%M:%S} {self.action} {self.target_type}:{self.target_id}"
        )
