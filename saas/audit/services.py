"""Writing audit entries. Called from signal handlers inside the audited change's own
transaction, so an entry exists exactly when the change does."""

import json
from dataclasses import replace
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from .context import Actor, current_actor
from .models import ActorKind, AuditEntry


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def audit_entry_record(
    *,
    action: str,
    target_type: str,
    target_id: object,
    changes: dict[str, Any] | None = None,
    tenant: Any = None,
    actor: Actor | None = None,
    actor_user: Any = None,
) -> AuditEntry:
    """Record one entry in the current schema, or in `tenant`'s schema when given (for
    changes to public-schema rows such as memberships). `actor_user` names the person when
    the request has no authenticated one (an invitation being accepted)."""
    who = actor or current_actor()
    if actor_user is not None and who.kind == ActorKind.USER and who.user_id is None:
        who = replace(who, user_id=actor_user.pk, email=actor_user.email)
    entry = AuditEntry(
        actor_id=who.user_id,
        actor_email=who.email,
        actor_kind=who.kind,
        actor_app=who.app,
        action=action,
        target_type=target_type,
        target_id=str(target_id if target_id is not None else ""),
        changes=_jsonable(changes or {}),
        ip=who.ip,
        request_id=who.request_id[:128],
    )
    if tenant is None:
        entry.save()
    else:
        with tenant:
            entry.save()
    return entry
