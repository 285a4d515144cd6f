"""Recording emails that could not be sent (saas.tasks.email_send calls this)."""

import logging
from typing import Any

from .models import EmailFailure

logger = logging.getLogger(__name__)

# A context key the email task takes out before rendering (templates cannot read names that
# start with "_"): which organization and object the email is about. Set with email_about.
ABOUT_KEY = "_about"
_REASON_MAX = 2000


def email_about(*, tenant_id: int, target_type: str, target_id: int) -> dict[str, Any]:
    """Context to add to an email so that, if it cannot be sent, the failure is shown on
    `target_type`/`target_id` to `tenant_id`'s admins: `{**context, **email_about(...)}`."""
    return {ABOUT_KEY: {"tenant_id": tenant_id, "target_type": target_type, "target_id": target_id}}


def email_failure_record(
    *, template: str, to: str, about: dict[str, Any] | None, reason: str, attempts: int
) -> EmailFailure:
    about = about or {}
    failure = EmailFailure.objects.create(
        tenant_id=about.get("tenant_id"),
        template=template,
        to=to,
        target_type=about.get("target_type") or "",
        target_id=about.get("target_id"),
        reason=reason[:_REASON_MAX],
        attempts=attempts,
    )
    # The address and reason are in the record; the log says only that one was written.
    logger.error(
        "email not sent",
        extra={"template": template, "email_failure_id": failure.pk, "attempts": attempts},
    )
    return failure
