import logging
import smtplib
from typing import Any

from celery import Task, shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from saas.emails.services import ABOUT_KEY, email_failure_record

logger = logging.getLogger(__name__)

EMAIL_RETRY_BACKOFF_MAX_SECONDS = 600


@shared_task(bind=True, max_retries=8)
def email_send(self: Task, *, template: str, to: str, context: dict[str, Any]) -> None:
    """Send one email. A failure that may pass (the server unreachable, a 4xx answer) is
    retried with backoff; one that will not (a 5xx refusal of the address or message, a
    message that cannot be built) and the last retry's are recorded (saas.emails) instead of
    raised: nobody reads a worker's traceback, while the record is shown to the operator and,
    for an invitation, to the organization's admins."""
    context = dict(context)
    about = context.pop(ABOUT_KEY, None)
    try:
        _send(template=template, to=to, context=context)
    except Exception as exc:  # noqa: BLE001 - each failure is either retried or recorded
        attempt = self.request.retries
        if _may_pass(exc) and attempt < (self.max_retries or 0):
            countdown = get_exponential_backoff_interval(
                factor=1,
                retries=attempt,
                maximum=EMAIL_RETRY_BACKOFF_MAX_SECONDS,
                full_jitter=True,
            )
            raise self.retry(exc=exc, countdown=countdown) from exc
        email_failure_record(
            template=template, to=to, about=about, reason=_reason(exc), attempts=attempt + 1
        )
        return
    logger.info("email sent", extra={"template": template})


def _send(*, template: str, to: str, context: dict[str, Any]) -> None:
    # A subject is one header line. Names are checked for line breaks when written
    # (saas.validators.single_line), but one stored before that would make Django refuse
    # the message (BadHeaderError): fold it onto one line instead.
    subject = " ".join(render_to_string(f"emails/{template}.subject.txt", context).split())
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    message.attach_alternative(html, "text/html")
    message.send()


def _may_pass(exc: Exception) -> bool:
    """A 5xx reply to the recipient or the message is final (RFC 5321 section 4.2.1); other
    SMTP and network errors (our server unreachable, busy, misconfigured) may pass."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPDataError):
        return exc.smtp_code < 500
    return isinstance(exc, OSError)  # smtplib's errors are OSErrors too


def _reason(exc: Exception) -> str:
    def text(reply: bytes | str) -> str:
        return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)

    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()))
        return f"The mail server refused the address: {code} {text(reply)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"The mail server answered: {exc.smtp_code} {text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"
