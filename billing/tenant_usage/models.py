"""Soft-limit alerts sent: one row per (organization, metric, threshold, period), so each is
emailed once per period however often, and however concurrently, the check runs."""

from django.db import models


class UsageAlert(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=32)  # "seats" or "projects"
    threshold = models.PositiveSmallIntegerField()  # percent of the limit: 80 or 100
    period_start = models.DateTimeField()
    used = models.PositiveIntegerField()
    limit = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "metric", "threshold", "period_start"],
                name="usage_alert_once_per_period",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}:{self.metric}:{self.threshold}%"
