"""OWASP API1:2023 Broken Object Level Authorization: an endpoint that takes an object id
serves or changes the object without checking that the caller may reach it.

What this product exposes: every object lives in one organization. Projects, tasks,
invoices and audit entries sit in the organization's own PostgreSQL schema (ids restart per
schema, so beta's rows are given ids acme never has); members, invitations and OAuth
applications are public-schema rows filtered by tenant; tokens are bound to one
organization's host. Probed here, on acme's host, for every role and OAuth application
token:

- every tenant operation with an object in its path (from the URL map), read and write,
  with beta's ids (and acme's project with beta's task): the same answer as for an id that
  exists nowhere (404 when the role may use the operation, else the same 403 as for its
  own objects), never beta's data, and beta's objects unchanged afterwards;
- ids in bodies and filters (a task's assignee, the new owner, the audit log's filters);
- every read (lists and details): none of beta's rows;
- every authenticated operation with a token of beta (each role, an application's): 401
  `token_wrong_tenant`, and acme's refresh token on beta's host.
"""

from typing import Any

import pytest

from accounts.models import Invitation, Membership, OAuthApplication, Role
from saas.workspace.models import Project, Task
from tests.support.http import assert_error
from tests.support.owasp import (
    APP_ALL,
    APP_READ,
    ROLES,
    SESSION_OPERATIONS,
    Route,
    World,
    api_client,
    attempt,
    caller_capabilities,
    caller_client,
    error_code,
    fill,
    is_credential_operation,
    operation_id,
    operations,
    refresh_for,
    send,
    valid_body,
)

pytestmark = pytest.mark.django_db

CALLERS = (*ROLES, APP_READ, APP_ALL)
OBJECT_OPERATIONS = [(m, r) for m, r in operations("tenant") if r.params]
AUTHENTICATED = [(m, r) for m, r in operations("tenant") if not is_credential_operation(m, r)]
READS = [
    (m, r) for m, r in operations("tenant") if m == "GET" and not is_credential_operation(m, r)
]
NOWHERE: dict[str, Any] = {
    "project_id": 10**15,
    "task_id": 10**15 + 1,
    "user_id": 10**15 + 2,
    "invitation_id": 10**15 + 3,
    "token": "no-such-invitation-token-0000000000000000000",
    "application_id": 10**15 + 4,
    "domain_id": 10**15 + 5,
    "scim_token_id": 10**15 + 5,
    "domain": "nowhere.test",  # an SSO email domain no connection lists
    "key_id": 10**15 + 6,
    "endpoint_id": 10**15 + 7,
    "delivery_id": 10**15 + 8,
    "api_key_id": 10**15 + 9,
}


# Rows a member sees only if they are their own (API keys; owners and admins see all).
PER_PERSON = {"api-key-detail"}


def _may_use(method: str, route: Route, caller: str) -> bool:
    if (method, route.name) in SESSION_OPERATIONS and caller not in ROLES:
        return False  # a person's own login only, never an application's token
    needed = route.capability(method)
    return needed is None or needed in caller_capabilities(caller)


def _answer(response: Any) -> tuple[int, str | None]:
    return response.status_code, error_code(response)


def test_beta_rows_have_ids_acme_does_not(world: World) -> None:
    """The precondition of the probes below: an id of beta's is not also one of acme's."""
    beta = world.beta
    with world.acme.tenant:
        assert not Project.objects.filter(pk=beta.project.pk).exists()
        assert not Task.objects.filter(pk=beta.task.pk).exists()


@pytest.mark.parametrize(("method", "route"), OBJECT_OPERATIONS, ids=operation_id)
def test_other_tenants_ids_are_as_unknown_as_missing_ones(
    world: World, method: str, route: Route
) -> None:
    beta = world.beta
    variants = {"beta": beta.ids()}
    if "task_id" in route.params:  # acme's own project, beta's task
        variants["acme project, beta task"] = {**world.acme.ids(), "task_id": beta.task.pk}
    wrong: dict[str, Any] = {}
    for caller in CALLERS:
        client = caller_client(world, caller)
        body = valid_body(method, route, world.acme)
        missing = _answer(attempt(client, method, fill(route, NOWHERE), body))
        expected = (404, missing[1]) if _may_use(method, route, caller) else (403, missing[1])
        if missing != expected:
            wrong[f"{caller} on a missing id"] = missing
        for name, ids in variants.items():
            response = attempt(client, method, fill(route, ids), body)
            if _answer(response) != missing or b"beta" in response.content.lower():
                wrong[f"{caller} on {name}"] = (_answer(response), response.content[:200])
    assert wrong == {}
    _beta_untouched(world)


def _beta_untouched(world: World) -> None:
    beta = world.beta
    with beta.tenant:
        assert Project.objects.get(pk=beta.project.pk).name == "beta project"
        assert Task.objects.get(pk=beta.task.pk).title == "beta task"
    assert Membership.objects.get(tenant=beta.tenant, user=beta.extra).role == Role.MEMBER
    assert Invitation.objects.get(pk=beta.invitation.pk).status == "pending"
    assert OAuthApplication.objects.get(pk=beta.app.pk).name == "beta integration"


def test_ids_in_bodies_and_filters_reach_only_this_tenant(world: World) -> None:
    owner = caller_client(world, Role.OWNER)
    beta = world.beta
    project = world.acme.project.pk
    assigned = attempt(
        owner,
        "POST",
        f"/api/v1/projects/{project}/tasks/",
        {"title": "x", "assignee": beta.extra.pk},
    )
    assert "assignee" in assert_error(assigned, 400)["fields"]
    moved = attempt(
        owner, "POST", "/api/v1/members/transfer-ownership/", {"user_id": beta.owner.pk}
    )
    assert_error(moved, 404)
    filters = [
        f"/api/v1/audit-log/?actor={beta.owner.pk}",
        f"/api/v1/audit-log/?target_id={beta.extra.pk}",
        f"/api/v1/projects/{project}/tasks/?assignee={beta.extra.pk}",
    ]
    for path in filters:
        response = owner.get(path)
        assert response.status_code == 200, (path, response.content)
        assert response.json()["results"] == [], path
    _beta_untouched(world)


@pytest.mark.parametrize(("method", "route"), READS, ids=operation_id)
def test_reads_show_only_this_tenants_rows(world: World, method: str, route: Route) -> None:
    """Every read (lists, details, the account, billing, the audit log) as every caller."""
    path = fill(route, world.acme.ids())
    read = 0
    for caller in CALLERS:
        response = caller_client(world, caller).get(path)
        if response.status_code == 403:
            assert not _may_use(method, route, caller), caller
            continue
        if route.name in PER_PERSON and caller not in (Role.OWNER, Role.ADMIN):
            assert_error(response, 404)  # the owner's key is not theirs to see
            continue
        assert response.status_code == 200, (caller, response.content)
        assert b"beta" not in response.content.lower(), (caller, response.content[:300])
        read += 1
    assert read >= 2  # the probe saw data, not only refusals


OTHER_CALLERS = (*ROLES, APP_READ, APP_ALL)


@pytest.mark.parametrize("caller", OTHER_CALLERS)
def test_other_tenants_tokens_are_refused_on_every_operation(world: World, caller: str) -> None:
    """beta's tokens on acme's host: 401 `token_wrong_tenant` whatever the operation."""
    client = api_client(world.acme.host, world.beta.tokens[caller])
    answers = {}
    for method, route in AUTHENTICATED:
        path = fill(route, world.acme.ids())
        response = send(client, method, path, valid_body(method, route, world.acme))
        answers[f"{method} {route.path}"] = _answer(response)
    expected = "token_wrong_tenant"
    assert {op: a for op, a in answers.items() if a != (401, expected)} == {}


def test_refresh_tokens_are_bound_to_their_tenant(world: World) -> None:
    refresh = refresh_for(world.acme, world.acme.owner)
    on_beta = api_client(world.beta.host).post(
        "/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json"
    )
    assert on_beta.status_code == 401, on_beta.content
    assert b"access" not in on_beta.content
    on_acme = api_client(world.acme.host).post(
        "/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json"
    )
    assert on_acme.status_code == 200
