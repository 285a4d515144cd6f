"""The transactional outbox: one row per Celery task that must run because a transaction
committed, written in that transaction. The row stays until a worker has run the task (to
success, to a final failure, or to a retry, which has a row of its own): handed over but not
run within OUTBOX_REDELIVER_AFTER_SECONDS, it is handed over again, so even a broker that
lost its messages loses no work. Its arguments may hold secrets (an invitation link): they
stay at rest only until the task ran."""

from django.db import models


class OutboxMessage(models.Model):
    task = models.CharField(max_length=200, help_text="The Celery task's name.")
    # Celery's own JSON (kombu's type markers), so datetimes and decimals arrive as they left.
    kwargs = models.JSONField(default=dict)
    # The schema the task was sent from: the worker runs it there (tenant-schemas-celery).
    schema_name = models.CharField(max_length=63)
    # Which retry of the task this is (Celery's request.retries), for a retry kept here.
    retries = models.PositiveIntegerField(default=0)
    # When the relay hands it over (again): a long countdown's end; at once if the hand-over
    # after commit failed; once handed over, when it should long have run.
    due_at = models.DateTimeField()
    # Last handed to Celery (for the hand-over right after commit: as the row is written).
    sent_at = models.DateTimeField(null=True, blank=True)
    sends = models.PositiveIntegerField(default=0, help_text="Times handed to Celery.")
    attempts = models.PositiveIntegerField(default=0, help_text="Hand-overs the broker refused.")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["due_at"], name="outbox_due_idx")]

    def __str__(self) -> str:
        return f"{self.task} due {self.due_at:%Y-%m-%d %H:%M:%S}"
