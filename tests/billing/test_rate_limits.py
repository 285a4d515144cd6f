"""API rate limits per plan: counted per tenant in Redis, 429 with Retry-After beyond the
plan's api_requests_per_minute, X-RateLimit-* headers on tenant API responses, and a Redis
outage lets requests through."""

import pytest
import redis

from accounts.models import Role
from billing import throttling
from billing.models import Plan
from tests.support.processes import free_port

pytestmark = pytest.mark.usefixtures("frozen_rate_window")


@pytest.fixture
def two_tenants(make_tenant, make_member):
    acme, globex = make_tenant("acme"), make_tenant("globex")
    return (acme, make_member(acme, role=Role.OWNER)), (globex, make_member(globex, Role.OWNER))


def set_rate(per_minute: int, code: str = "free") -> None:
    plan = Plan.objects.get(code=code)
    plan.api_requests_per_minute = per_minute
    plan.save()


def test_the_request_after_the_plans_rate_is_refused(
    two_tenants, client_for, frozen_rate_window: float
) -> None:
    (acme, owner), _ = two_tenants
    set_rate(3)
    client = client_for(acme, owner)

    allowed = [client.get("/api/v1/projects/") for _ in range(3)]
    refused = client.get("/api/v1/projects/")

    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert [r["X-RateLimit-Remaining"] for r in allowed] == ["2", "1", "0"]
    assert {r["X-RateLimit-Limit"] for r in allowed} == {"3"}
    window_end = int(frozen_rate_window // 60 + 1) * 60
    assert {r["X-RateLimit-Reset"] for r in allowed} == {str(window_end)}
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused["Retry-After"] == "51"  # 50 s left in the window, rounded up
    assert (refused["X-RateLimit-Limit"], refused["X-RateLimit-Remaining"]) == ("3", "0")


def test_each_tenant_has_its_own_budget(two_tenants, client_for) -> None:
    (acme, acme_owner), (globex, globex_owner) = two_tenants
    set_rate(2)
    acme_client = client_for(acme, acme_owner)
    for _ in range(3):
        acme_client.get("/api/v1/projects/")
    assert acme_client.get("/api/v1/projects/").status_code == 429

    response = client_for(globex, globex_owner).get("/api/v1/projects/")

    assert response.status_code == 200
    assert response["X-RateLimit-Remaining"] == "1"


def test_the_rate_follows_the_plan_and_its_changes(two_tenants, client_for) -> None:
    (acme, owner), _ = two_tenants
    client = client_for(acme, owner)
    first = client.get("/api/v1/billing/entitlements/")
    assert first["X-RateLimit-Limit"] == "60"  # the free plan's rate, now cached

    set_rate(1)  # saving the plan drops the cached limits of its tenants

    assert client.get("/api/v1/billing/entitlements/").status_code == 429


def test_every_tenant_api_response_carries_the_rate_headers(two_tenants, client_for) -> None:
    (acme, owner), _ = two_tenants
    client = client_for(acme, owner)
    created = client.post("/api/v1/projects/", {"name": "One"}, format="json")
    invalid = client.post("/api/v1/projects/", {}, format="json")
    listed = client.get("/api/v1/members/")

    for response, status in ((created, 201), (invalid, 400), (listed, 200)):
        assert response.status_code == status
        assert response["X-RateLimit-Limit"] == "60"
    assert [r["X-RateLimit-Remaining"] for r in (created, invalid, listed)] == ["59", "58", "57"]


def test_redis_down_lets_requests_through(two_tenants, client_for, monkeypatch) -> None:
    (acme, owner), _ = two_tenants
    set_rate(1)
    unreachable = redis.Redis(port=free_port(), socket_connect_timeout=0.2)
    monkeypatch.setattr(throttling, "redis_client", lambda: unreachable)
    client = client_for(acme, owner)

    responses = [client.get("/api/v1/projects/") for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert "X-RateLimit-Limit" not in responses[0]
