"""scim2-tester (the RFC 7643/7644 compliance checker of the scim2 project) against the SCIM
service of an organization: discovery (ServiceProviderConfig, ResourceTypes, Schemas, their
methods, unknown ids and paths), then create, read, query, replace, PATCH add/replace/remove
and delete of Users as the published schema describes them. Its WSGISCIMClient calls the
WSGI application in process (the whole middleware stack, no network, no server), so it runs
offline and inside the test's transaction.

Two departures, both from this service's design (README, "SCIM provisioning"):
- userName is the account's email here. The tester fills a string attribute with a UUID, so
  it is given an address instead (its generator, wrapped for that one attribute).
- Groups are the fixed roles (created, renamed and deleted by nobody: 405), so the tester's
  Group CRUD, which starts with POST /Groups, is not run; tests/accounts/scim/test_groups.py
  covers their reads and member changes."""

import uuid
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_tester import Status, check_server, filling
from scim2_tester.checkers import patch_add, patch_replace

from tests.support.http import host_of
from tests.support.scim import scim_token


@pytest.fixture
def email_user_names(monkeypatch: pytest.MonkeyPatch) -> None:
    original = filling.generate_random_value

    def generate(context: Any, path: Any, *args: Any, **kwargs: Any) -> Any:
        if str(path).rsplit(":", 1)[-1] == "userName":
            return f"{uuid.uuid4()}@example.test"
        return original(context, path, *args, **kwargs)

    for module in (filling, patch_add, patch_replace):
        monkeypatch.setattr(module, "generate_random_value", generate)


@pytest.fixture
def in_process_requests() -> Any:
    """As Django's test client does: the test's connection (and its transaction) outlives
    each request, which would otherwise close it at its start and end."""
    signals = (request_started, request_finished)
    for signal in signals:
        signal.disconnect(close_old_connections)
    yield
    for signal in signals:
        signal.connect(close_old_connections)


def test_scim2_tester_finds_no_violation(acme, email_user_names, in_process_requests) -> None:
    acme.on_plan("pro")
    client = WSGISCIMClient(
        WSGIHandler(),
        base_url=f"http://{host_of(acme.tenant)}/scim/v2",
        headers={"Authorization": f"Bearer {scim_token(acme)}"},
    )
    results = check_server(client, resource_types=["User"])
    assert len([r for r in results if r.status == Status.SUCCESS]) > 20
    problems = [
        f"{r.status.name} {r.title}: {r.reason}"
        for r in results
        if r.status in (Status.ERROR, Status.CRITICAL)
    ]
    assert problems == []
