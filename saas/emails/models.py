"""An email the worker could not send, and why: for the operator (the Django admin) and, for
what the email was about, for the organization (an invitation shows its email failed)."""

from django.db import models


class EmailFailure(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    # The organization the email was sent for; none for platform emails.
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    template = models.CharField(
        max_length=100, help_text="Which email: saas/templates/emails/<template>.*"
    )
    to = models.EmailField(max_length=254)
    # What the email was about, e.g. ("invitation", 7): the organization sees the failure there.
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(help_text="The mail server's answer or the error.")
    attempts = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="emailfailure_target")]

    def __str__(self) -> str:
        return f"{self.template} to {self.to}"
