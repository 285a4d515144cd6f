"""Email: rendered from text + HTML templates and sent by a Celery task once the transaction
commits, through the outbox (saas.outbox): a rolled-back request sends nothing, a slow SMTP
server never slows a request, and a broker outage delays an email but never loses it.

Delivery is at least once: a worker that dies after the SMTP server took the message but
before the task was acknowledged (or a relay that dies after handing the task over) sends
it again. A duplicate email is the lesser harm; a lost invitation the greater one.
"""

from typing import Any

from saas.outbox.services import outbox_enqueue


def email_send_later(*, template: str, to: str, context: dict[str, Any]) -> None:
    """Queue `emails/<template>.{subject,txt,html}` for `to` once the transaction commits."""
    outbox_enqueue("saas.tasks.email_send", {"template": template, "to": to, "context": context})
