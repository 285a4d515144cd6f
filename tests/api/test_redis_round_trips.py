"""One Redis round trip per tenant API request with an access JWT (issue 14): the tenant map's
generation, the caller's member access and the plan's rate count in one script
(accounts.prefetch), with every guarantee of the three places that used to ask Redis each."""

import pytest
from redis.client import Pipeline, Redis
from rest_framework.test import APIClient

from accounts.services import membership_remove
from billing import throttling
from billing.models import Plan
from tenants.resolution import tenant_cache_invalidate
from tests.support.http import host_of

TASKS = "/api/v1/projects/{}/tasks/"


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every Redis round trip this process makes: a command, or a pipeline (one trip)."""
    trips: list[str] = []
    execute_command, execute = Redis.execute_command, Pipeline.execute

    def counted_command(self, *args, **kwargs):
        trips.append(str(args[0]))
        return execute_command(self, *args, **kwargs)

    def counted_pipeline(self, *args, **kwargs):
        trips.append("pipeline")
        return execute(self, *args, **kwargs)

    monkeypatch.setattr(Redis, "execute_command", counted_command)
    monkeypatch.setattr(Pipeline, "execute", counted_pipeline)
    return trips


def _warm(org, url: str) -> None:
    for _ in range(2):  # the generation, access entry, limits and script are cached
        assert org.client.get(url).status_code == 200


def test_a_task_list_request_makes_one_redis_round_trip(acme, round_trips) -> None:
    url = TASKS.format(acme.project().pk)
    _warm(acme, url)
    round_trips.clear()
    response = acme.client.get(url)
    assert response.status_code == 200
    assert round_trips == ["EVALSHA"]
    assert response["X-RateLimit-Remaining"]  # the one script counted it


def test_the_one_script_still_counts_every_request_once(acme, frozen_rate_window) -> None:
    plan = Plan.objects.get(code=acme.tenant.billing_account.plan.code)
    plan.api_requests_per_minute = 3
    plan.save()
    throttling.limits_forget(tenant_ids=[acme.tenant.pk])
    url = TASKS.format(acme.project().pk)
    statuses = [acme.client.get(url).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert throttling.api_requests_this_minute(tenant_id=acme.tenant.pk) == 4


def test_a_forged_token_spends_nothing_of_the_organizations_rate(acme, frozen_rate_window) -> None:
    url = TASKS.format(acme.project().pk)
    _warm(acme, url)
    before = throttling.api_requests_this_minute(tenant_id=acme.tenant.pk)
    token = acme.client._credentials["HTTP_AUTHORIZATION"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = APIClient(HTTP_HOST=host_of(acme.tenant)).get(url, HTTP_AUTHORIZATION=forged)
    assert response.status_code == 401
    assert throttling.api_requests_this_minute(tenant_id=acme.tenant.pk) == before


def test_removal_still_applies_at_the_next_request(
    acme, django_capture_on_commit_callbacks
) -> None:
    member = acme.join()
    url = TASKS.format(acme.project().pk)
    _warm(member, url)
    with django_capture_on_commit_callbacks(execute=True):
        membership_remove(tenant=acme.tenant, user_id=member.user.pk)
    response = member.client.get(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "access_revoked"


def test_a_suspended_organization_is_refused_at_the_next_request(acme) -> None:
    url = TASKS.format(acme.project().pk)
    _warm(acme, url)
    acme.tenant.status = "suspended"
    acme.tenant.save()
    tenant_cache_invalidate()
    response = acme.client.get(url)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "tenant_suspended"


def test_a_token_of_another_organization_is_refused_and_counted_there_only(
    acme, beta, frozen_rate_window
) -> None:
    url = TASKS.format(beta.project().pk)
    _warm(beta, url)
    beta_before = throttling.api_requests_this_minute(tenant_id=beta.tenant.pk)
    acme_token = acme.client._credentials["HTTP_AUTHORIZATION"]
    response = APIClient(HTTP_HOST=host_of(beta.tenant)).get(url, HTTP_AUTHORIZATION=acme_token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_wrong_tenant"
    assert throttling.api_requests_this_minute(tenant_id=beta.tenant.pk) == beta_before
