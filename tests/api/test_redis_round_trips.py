"""One Redis round trip per tenant API request with an access JWT (issue 14): the tenant map's
generation, the caller's member access and the plan's rate count in one script
(accounts.prefetch), with every guarantee of the three places that used to ask Redis each."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from redis.client import Pipeline, Redis
from rest_framework.test import APIClient

from accounts.access import access_cache_key
from accounts.apikeys.cache import prefetch_prefixes
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


# ---- API keys (accounts.apikeys): the same one round trip ---------------------------------


def _key_client(org):
    org.on_plan("starter")
    raw = org.ok("post", "api-keys/", {"name": "k", "scopes": ["read"]})["key"]
    client = APIClient(HTTP_HOST=host_of(org.tenant))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_an_api_key_request_makes_one_redis_round_trip(acme, round_trips) -> None:
    url = TASKS.format(acme.project().pk)
    client = _key_client(acme)
    for _ in range(2):
        assert client.get(url).status_code == 200
    round_trips.clear()
    response = client.get(url)
    assert response.status_code == 200
    assert round_trips == ["EVALSHA"]
    assert response["X-RateLimit-Remaining"]


def test_a_warm_api_key_request_costs_no_more_queries_than_a_jwt_request(acme) -> None:
    url = TASKS.format(acme.project().pk)
    client = _key_client(acme)

    def queries(caller) -> list[str]:
        for _ in range(2):
            assert caller.get(url).status_code == 200
        with CaptureQueriesContext(connection) as captured:
            assert caller.get(url).status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    by_key, by_jwt = queries(client), queries(acme.client)
    assert len(by_key) == len(by_jwt)
    assert not [sql for sql in by_key if "apikeys_apikey" in sql or "accounts_membership" in sql]


def test_the_key_script_names_the_caches_own_keys(acme) -> None:
    """The script builds the access and rate keys from prefixes: they must be the keys the
    cache and the throttle use."""
    access, limits, rate, usage = prefetch_prefixes()
    assert access + f"{acme.tenant.pk}:{acme.user.pk}" == access_cache_key(
        tenant_id=acme.tenant.pk, user_id=acme.user.pk
    )
    keys = throttling.rate_keys(acme.tenant.pk, 123)
    tenant = acme.tenant.pk
    assert keys[:3] == [f"{limits}{tenant}", f"{rate}{tenant}:123", f"{usage}{tenant}:123"]


def test_an_api_key_is_counted_once_per_request(acme, frozen_rate_window) -> None:
    client = _key_client(acme)
    plan = Plan.objects.get(code="starter")
    plan.api_requests_per_minute = 3
    plan.save()
    throttling.limits_forget(tenant_ids=[acme.tenant.pk])
    before = throttling.api_requests_this_minute(tenant_id=acme.tenant.pk)
    url = TASKS.format(acme.project().pk)
    statuses = [client.get(url).status_code for _ in range(4 - before)]
    assert statuses[-1] == 429
    assert statuses[:-1] == [200] * (len(statuses) - 1)
    assert throttling.api_requests_this_minute(tenant_id=acme.tenant.pk) == 4


def test_an_unknown_api_key_spends_nothing_of_the_organizations_rate(
    acme, frozen_rate_window
) -> None:
    url = TASKS.format(acme.project().pk)
    client = _key_client(acme)
    assert client.get(url).status_code == 200
    before = throttling.api_requests_this_minute(tenant_id=acme.tenant.pk)
    forged = APIClient(HTTP_HOST=host_of(acme.tenant))
    forged.credentials(HTTP_AUTHORIZATION="Bearer sk_test_" + "A" * 43)
    assert forged.get(url).status_code == 401
    assert throttling.api_requests_this_minute(tenant_id=acme.tenant.pk) == before
