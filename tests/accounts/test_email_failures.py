"""An email that cannot be sent is recorded with the reason, for the operator (Django admin)
and, for an invitation, for the organization's admins (the invitation list). A name stored
with a line break (before names were checked) no longer stops the email either."""

import smtplib

import pytest
from django.core.mail import EmailMultiAlternatives
from django.test import Client

from accounts.models import Invitation, User
from saas.emails.models import EmailFailure
from saas.tasks import email_send
from tests.factories import PASSWORD
from tests.support.processes import REFUSED_DOMAIN, wait_until

INVITATIONS = "/api/v1/invitations/"
CONTEXT = {
    "inviter": "Ada",
    "organization": "Acme",
    "role": "member",
    "url": "http://acme.localhost/invitations/tok",
    "expires_at": "2026-12-01T00:00:00Z",
}


def _operator_client() -> Client:
    operator = User.objects.create_superuser(email="operator@example.test", password=PASSWORD)
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    return client


def test_a_refused_invitation_email_is_recorded_and_shown_to_both_admins(
    mail, client_for, make_tenant, make_member
):
    acme, beta = make_tenant("acme"), make_tenant("beta")
    admin = make_member(acme, role="admin")
    client = client_for(acme, admin)
    refused = f"nobody@{REFUSED_DOMAIN}"

    assert client.post(INVITATIONS, {"email": refused}, format="json").status_code == 201
    assert client.post(INVITATIONS, {"email": "ada@example.test"}, format="json").status_code == 201
    mail.wait_for("ada@example.test")
    wait_until(lambda: EmailFailure.objects.exists(), "the failure is recorded", timeout=30)

    failure = EmailFailure.objects.get()
    invitation = Invitation.objects.get(email=refused)
    assert (failure.template, failure.to, failure.tenant_id) == ("invitation", refused, acme.pk)
    assert (failure.target_type, failure.target_id) == ("invitation", invitation.pk)
    assert failure.attempts == 1  # a permanent refusal is not retried for an hour
    assert "550" in failure.reason
    # The organization's admins see it in the invitation list, beside the one that went out.
    listed = {row["email"]: row for row in client.get(INVITATIONS).json()["results"]}
    assert listed[refused]["email_status"] == "failed"
    assert "550" in listed[refused]["email_error"]
    assert listed["ada@example.test"]["email_status"] == "ok"
    assert listed["ada@example.test"]["email_error"] is None
    # Another organization sees nothing of it.
    beta_admin = make_member(beta, role="admin")
    assert client_for(beta, beta_admin).get(INVITATIONS).json()["results"] == []
    # The operator finds it in the admin, filtered by template.
    page = _operator_client().get("/admin/emails/emailfailure/?template__exact=invitation")
    assert page.status_code == 200
    assert refused in page.content.decode()


def test_a_name_stored_with_a_line_break_no_longer_stops_the_email(db, mailoutbox):
    context = {**CONTEXT, "inviter": "Mallory\r\nBcc: evil@example.test"}

    result = email_send.apply(
        kwargs={"template": "invitation", "to": "new@example.test", "context": context}
    )

    assert result.successful(), result.traceback
    assert len(mailoutbox) == 1
    subject = mailoutbox[0].subject
    assert "\n" not in subject
    assert "\r" not in subject
    assert subject.startswith("Mallory Bcc: evil@example.test invited you to Acme")
    assert mailoutbox[0].bcc == []
    assert not EmailFailure.objects.exists()


def _failing_send(monkeypatch, *errors: Exception | None) -> list[int]:
    """Make sending raise `errors` one after the other (the last one for ever after); the
    returned list counts the attempts."""
    attempts: list[int] = []

    def send(self, fail_silently=False):
        attempts.append(1)
        error = errors[min(len(attempts), len(errors)) - 1]
        if error is not None:
            raise error
        return 1

    monkeypatch.setattr(EmailMultiAlternatives, "send", send)
    return attempts


KWARGS = {"template": "invitation", "to": "new@example.test", "context": CONTEXT}


def test_an_unreachable_server_is_retried_and_recorded_when_retries_run_out(db, monkeypatch):
    # In process (eager) Celery runs the retries at once, without the backoff.
    attempts = _failing_send(monkeypatch, ConnectionRefusedError(111, "Connection refused"))

    result = email_send.apply(kwargs=KWARGS)

    assert result.state == "SUCCESS"  # handled: recorded, not raised into the worker's log
    assert len(attempts) == email_send.max_retries + 1
    failure = EmailFailure.objects.get()
    assert failure.attempts == email_send.max_retries + 1
    assert "Connection refused" in failure.reason
    assert failure.tenant_id is None
    assert failure.target_type == ""


def test_a_server_back_after_a_failure_gets_the_email_and_nothing_is_recorded(db, monkeypatch):
    attempts = _failing_send(monkeypatch, smtplib.SMTPServerDisconnected("closed"), None)

    assert email_send.apply(kwargs=KWARGS).state == "SUCCESS"

    assert len(attempts) == 2
    assert not EmailFailure.objects.exists()


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (smtplib.SMTPRecipientsRefused({"new@example.test": (550, b"5.1.1 No such user")}), True),
        (smtplib.SMTPDataError(554, b"5.7.1 Message rejected"), True),
        (ValueError("Header values can't contain newlines"), True),
        (smtplib.SMTPRecipientsRefused({"new@example.test": (450, b"4.2.0 Try later")}), False),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), False),
        (TimeoutError("timed out"), False),
    ],
    ids=["recipient-550", "data-554", "bad-header", "recipient-450", "disconnected", "timeout"],
)
def test_permanent_failures_are_recorded_at_once_temporary_ones_after_every_retry(
    db, monkeypatch, error, permanent
):
    attempts = _failing_send(monkeypatch, error)

    email_send.apply(kwargs=KWARGS)

    expected = 1 if permanent else email_send.max_retries + 1
    assert len(attempts) == expected
    assert EmailFailure.objects.get().attempts == expected
