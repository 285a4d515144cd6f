"""Email: rendered from text + HTML templates and sent by a Celery task after commit, so a
rolled-back request sends nothing and a slow SMTP server never slows a request."""

from typing import Any

from django.db import transaction


def email_send_later(*, template: str, to: str, context: dict[str, Any]) -> None:
    """Queue `emails/<template>.{subject,txt,html}` for `to` once the transaction commits."""
    from .tasks import email_send

    transaction.on_commit(lambda: email_send.delay(template=template, to=to, context=context))
