"""Soft-limit alerts: seats or projects at 80% and at 100% of the plan's limit email the
owners, admins and billing managers once per period per threshold, however often (and
however concurrently) the beat job runs."""

from datetime import UTC, timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import Role
from billing.tenant_usage.models import UsageAlert
from billing.tenant_usage.services import usage_alerts_check
from billing.tenant_usage.tasks import usage_alerts_check as usage_alerts_task
from saas.outbox.models import OutboxMessage
from tests.factories import Org
from tests.support.concurrency import at_once
from tests.support.processes import SmtpSink, wait_until

STARTER_PROJECTS = 20  # the Starter plan's project limit


def _projects(org: Org, count: int) -> None:
    for n in range(count):
        org.project(name=f"P{n}")


def _alert_emails() -> list[tuple[str, int]]:
    messages = OutboxMessage.objects.filter(
        task="saas.tasks.email_send", kwargs__template="usage_limit_alert"
    ).order_by("id")
    return [(m.kwargs["to"], m.kwargs["context"]["threshold"]) for m in messages]


def test_80_then_100_percent_each_email_once_and_a_new_period_again(acme: Org, beta: Org) -> None:
    org = acme.on_plan("starter")
    admin = org.join(Role.ADMIN)
    billing = org.join(Role.BILLING)
    org.join(Role.MEMBER)
    alerted = sorted([org.user.email, admin.user.email, billing.user.email])
    beta.on_plan("starter")
    _projects(beta, 3)

    _projects(org, STARTER_PROJECTS * 8 // 10 - 1)  # 15 of 20: under 80%
    assert usage_alerts_check() == 0
    _projects(org, 1)  # 16 of 20: 80%
    assert usage_alerts_check() == 1
    assert sorted(_alert_emails()) == sorted((to, 80) for to in alerted)
    assert usage_alerts_check() == 0  # the job again: nothing new
    usage_alerts_task()  # the beat task itself: nothing new either
    assert len(_alert_emails()) == 3

    _projects(org, STARTER_PROJECTS - 16)  # 20 of 20: 100%
    assert usage_alerts_check() == 1
    assert sorted(_alert_emails()[3:]) == sorted((to, 100) for to in alerted)
    assert usage_alerts_check() == 0

    # Without a subscription the period is the calendar month: the next one alerts anew.
    now = timezone.now().astimezone(UTC)
    next_month = (now.replace(day=1) + timedelta(days=32)).replace(day=1)
    assert usage_alerts_check(now=next_month) == 1  # the highest reached: 100%
    assert [t for _, t in _alert_emails()[6:]] == [100, 100, 100]
    assert usage_alerts_check(now=next_month) == 0
    alerts = UsageAlert.objects.filter(tenant=org.tenant)
    assert sorted(alerts.values_list("metric", "threshold")) == [
        ("projects", 80),
        ("projects", 80),
        ("projects", 100),
        ("projects", 100),
    ]
    # beta (3 of 20 projects, 1 of 10 seats) has nothing, and none of acme's emails.
    assert not UsageAlert.objects.filter(tenant=beta.tenant).exists()
    assert beta.user.email not in {to for to, _ in _alert_emails()}


def test_seats_alert_and_unlimited_metrics_never_do(acme: Org) -> None:
    org = acme.on_plan("free")  # 3 seats, 3 projects
    org.join(Role.MEMBER)
    assert usage_alerts_check() == 0  # 2 of 3 seats: 66%
    org.join(Role.VIEWER)  # 3 of 3: past 80% and at 100% at once
    assert usage_alerts_check() == 1
    assert [t for _, t in _alert_emails()] == [100]  # the owner only; one email, the highest
    assert sorted(
        UsageAlert.objects.filter(tenant=org.tenant).values_list("metric", "threshold")
    ) == [("seats", 80), ("seats", 100)]
    org.on_plan("pro")  # 50 seats, projects unlimited
    _projects(org, 30)
    UsageAlert.objects.all().delete()
    assert usage_alerts_check() == 0


def test_two_concurrent_runs_send_once_through_the_mail_server(
    make_org: object, mail: SmtpSink
) -> None:
    org = make_org("racers").on_plan("starter")  # type: ignore[operator]
    _projects(org, STARTER_PROJECTS)
    assert sorted(at_once(usage_alerts_check, usage_alerts_check)) == [0, 1]
    assert UsageAlert.objects.filter(tenant=org.tenant, threshold=100).count() == 1
    message = mail.wait_for(org.user.email)
    # The worker deletes an email's outbox row once it sent it: with none left, every email
    # queued has been sent, and the sink holds them all.
    wait_until(
        lambda: not OutboxMessage.objects.filter(task="saas.tasks.email_send").exists(),
        "every queued email sent",
    )
    assert len(mail.sent_to(org.user.email)) == 1
    assert "100% of the projects limit" in str(message["Subject"])
    body = message.get_body(("plain",))
    assert body is not None
    assert "uses 20 of the 20 projects" in body.get_content()
    assert message.get_body(("html",)) is not None


def test_the_beat_job_names_the_alert_task() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["billing-usage-alerts"]
    assert entry["task"] == usage_alerts_task.name
