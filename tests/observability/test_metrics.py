"""/metrics: who may read it, and what it counts."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from billing.models import WebhookEvent
from config.celery import app
from tenants.models import Tenant, TenantStatus
from tests.support.observability import METRICS_TOKEN, sample, scrape

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _metrics_token(settings: Any) -> None:
    settings.METRICS_TOKEN = METRICS_TOKEN
    settings.METRICS_ALLOWED_IPS = []


def public() -> APIClient:
    return APIClient(HTTP_HOST="localhost")


def test_metrics_need_the_bearer_token() -> None:
    missing = public().get("/metrics")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert missing.json()["error"]["code"] == "not_authenticated"
    wrong = public().get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.status_code == 403
    right = public().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert right.status_code == 200
    assert right["Content-Type"].startswith("text/plain")
    assert b"saas_http_requests_total" in right.content


def test_metrics_answer_on_any_host(make_tenant) -> None:
    make_tenant("acme")
    for host in ("acme.localhost", "10.0.0.7"):
        client = APIClient(HTTP_HOST=host)
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
        assert response.status_code == 200, host


def test_allow_list_admits_listed_networks_only(settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "192.168.1.5"]
    assert public().get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert public().get("/metrics", REMOTE_ADDR="192.168.1.5").status_code == 200
    assert public().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_production_without_token_or_allow_list_refuses(settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    settings.METRICS_REQUIRE_AUTH = True
    assert public().get("/metrics").status_code == 403
    settings.METRICS_REQUIRE_AUTH = False  # dev and test: open
    assert public().get("/metrics").status_code == 200


def test_requests_counted_by_route_pattern_and_status(make_tenant, make_member, client_for) -> None:
    acme = make_tenant("acme")
    owner = make_member(acme, Role.OWNER)
    client = client_for(acme, owner)
    detail = "/api/v1/members/<int:user_id>/"
    before = scrape()

    refused = client.get(f"/api/v1/members/{owner.pk}/").status_code  # no GET here
    assert refused >= 400
    missing = client.patch(f"/api/v1/members/{owner.pk + 1000}/", {"role": "member"}, format="json")
    assert missing.status_code == 404
    assert client.get("/api/v1/projects/").status_code == 200
    assert client.get("/api/v1/projects/").status_code == 200
    assert APIClient(HTTP_HOST="nowhere.localhost").get("/x/1/").status_code == 404
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    total = "saas_http_requests_total"
    assert delta(total, route=detail, method="GET", status=str(refused)) == 1
    assert delta(total, route=detail, method="PATCH", status="404") == 1
    assert delta(total, route="/api/v1/projects/", method="GET", status="200") == 2
    assert delta(total, route="unmatched", method="GET", status="404") == 1
    count = "saas_http_request_duration_seconds_count"
    assert delta(count, route="/api/v1/projects/", method="GET") == 2
    routes = {dict(labels).get("route", "") for _, labels in after}
    assert not [route for route in routes if str(owner.pk + 1000) in route]


def test_tenants_by_status_and_webhook_events_by_type_and_state(make_tenant) -> None:
    for slug, status in [
        ("acme", TenantStatus.ACTIVE),
        ("beta", TenantStatus.ACTIVE),
        ("gamma", TenantStatus.READ_ONLY),
        ("delta", TenantStatus.TRIALING),
    ]:
        make_tenant(slug)
        Tenant.objects.filter(slug=slug).update(status=status)
    for n, (type_, state) in enumerate(
        [("invoice.paid", "done"), ("invoice.paid", "done"), ("invoice.paid", "failed")]
    ):
        WebhookEvent.objects.create(
            stripe_event_id=f"evt_metrics_{n}",
            type=type_,
            state=state,
            stripe_created=1_700_000_000 + n,
            payload={},
        )
    samples = scrape()
    assert sample(samples, "saas_metrics_database_up") == 1
    assert sample(samples, "saas_tenants", status="active") == 2
    assert sample(samples, "saas_tenants", status="read_only") == 1
    assert sample(samples, "saas_tenants", status="trialing") == 1
    assert sample(samples, "saas_tenants", status="suspended") == 0
    assert sample(samples, "saas_webhook_events", type="invoice.paid", state="done") == 2
    assert sample(samples, "saas_webhook_events", type="invoice.paid", state="failed") == 1


@app.task(name="tests.observability.succeeds")
def _succeeds() -> int:
    return 1


@app.task(name="tests.observability.fails")
def _fails() -> None:
    raise RuntimeError("boom")


def test_celery_task_outcomes_and_durations() -> None:
    before = scrape()
    _succeeds.apply()
    _succeeds.apply()
    _fails.apply()
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    tasks = "saas_celery_tasks_total"
    assert delta(tasks, task="tests.observability.succeeds", outcome="success") == 2
    assert delta(tasks, task="tests.observability.fails", outcome="failure") == 1
    duration = "saas_celery_task_duration_seconds_count"
    assert delta(duration, task="tests.observability.succeeds") == 2
