from datetime import datetime

from django.db.models import QuerySet

from .models import AuditEntry


def audit_entry_list(
    *,
    actor: int | None = None,
    actor_kind: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEntry]:
    """The current tenant's entries, newest first, narrowed by whichever filters are given."""
    entries = AuditEntry.objects.order_by("-created_at", "-id")
    if actor is not None:
        entries = entries.filter(actor_id=actor)
    if actor_kind:
        entries = entries.filter(actor_kind=actor_kind)
    if action:
        # "member." matches every member action; "member.removed" just that one.
        entries = (
            entries.filter(action__startswith=action)
            if action.endswith(".")
            else entries.filter(action=action)
        )
    if target_type:
        entries = entries.filter(target_type=target_type)
    if target_id:
        entries = entries.filter(target_id=target_id)
    if since is not None:
        entries = entries.filter(created_at__gte=since)
    if until is not None:
        entries = entries.filter(created_at__lt=until)
    return entries
