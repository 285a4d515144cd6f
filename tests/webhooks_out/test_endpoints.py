"""Registering webhook endpoints: the secret shown once and kept encrypted, the catalog, URL
checks against SSRF, roles, the plan's feature and limit, isolation, the audit log."""

import base64
from typing import Any

import pytest
from django.db import connection

from saas.audit.models import AuditEntry
from saas.webhooks_out.catalog import EVENT_TYPES
from saas.webhooks_out.models import WebhookEndpoint
from tests.factories import Org, client_for
from tests.support.concurrency import at_once
from tests.support.http import assert_error, assert_no_store
from tests.support.webhook_receiver import register_endpoint

URL = "/api/v1/webhook-endpoints/"


def test_the_secret_is_shown_once_and_stored_encrypted(hooks: Org, hook_receiver: Any) -> None:
    response = hooks.client.post(
        URL,
        {"url": hook_receiver.url(), "event_types": ["project.*"], "description": "CI"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert_no_store(response)
    created = response.json()
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert response["Location"].endswith(f"{URL}{created['id']}/")
    assert created["event_types"] == ["project.*"]
    assert created["enabled"] is True

    listed = hooks.client.get(URL).json()["results"]
    detail = hooks.client.get(f"{URL}{created['id']}/").json()
    assert [row["id"] for row in listed] == [created["id"]]
    for shown in (listed[0], detail):
        assert "secret" not in shown
        assert secret not in str(shown)
    with hooks.tenant:
        stored = WebhookEndpoint.objects.get(pk=created["id"])
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM webhooks_out_webhookendpoint")
            assert secret not in str(cursor.fetchall())
    assert stored.secret_encrypted
    assert secret not in stored.secret_encrypted


def test_the_catalog_lists_every_event_type_and_wildcard(hooks: Org) -> None:
    response = hooks.client.get("/api/v1/webhook-event-types/")
    assert response.status_code == 200
    catalog = response.json()
    assert [row["name"] for row in catalog["event_types"]] == list(EVENT_TYPES)
    assert [row["name"] for row in catalog["wildcards"]] == [
        "invoice.*",
        "member.*",
        "project.*",
        "subscription.*",
        "task.*",
    ]
    ordered = {row["name"] for row in catalog["event_types"] if row["ordered"]}
    assert ordered == {
        "member.added",
        "member.removed",
        "member.role_changed",
        "subscription.created",
        "subscription.updated",
        "subscription.canceled",
    }
    assert "webhook.test" not in str(catalog)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://hooks.example.com/", "event_types": ["project.exploded"]}, "event_types"),
        ({"url": "https://hooks.example.com/", "event_types": []}, "event_types"),
        ({"url": "https://hooks.example.com/", "event_types": "project.*"}, "event_types"),
        ({"url": "ftp://hooks.example.com/", "event_types": ["task.*"]}, "url"),
        ({"url": "not a url", "event_types": ["task.*"]}, "url"),
        ({"url": "https://user:pw@hooks.example.com/", "event_types": ["task.*"]}, "url"),
        ({"url": "https://10.0.0.1/hook", "event_types": ["task.*"]}, "url"),
        ({"url": "https://192.168.1.20/hook", "event_types": ["task.*"]}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data/", "event_types": ["task.*"]}, "url"),
        ({"url": "https://[fe80::1]/hook", "event_types": ["task.*"]}, "url"),
        ({"url": "https://224.0.0.1/hook", "event_types": ["task.*"]}, "url"),
        ({"url": "https://0.0.0.0/hook", "event_types": ["task.*"]}, "url"),
        ({"url": "https://[::ffff:10.0.0.1]/hook", "event_types": ["task.*"]}, "url"),
        ({"url": "https://hooks.invalid/", "event_types": ["task.*"]}, "url"),
        ({"url": "https://hooks.example.com/", "event_types": ["task.*"], "secret": "x"}, "secret"),
    ],
)
def test_bad_input_is_refused_naming_the_field(hooks: Org, body: dict, field: str) -> None:
    error = assert_error(hooks.client.post(URL, body, format="json"), 400)
    assert field in error["fields"], error
    with hooks.tenant:
        assert not WebhookEndpoint.objects.exists()


def test_loopback_and_plain_http_are_refused_outside_dev_and_test(
    hooks: Org, hook_receiver: Any, settings: Any
) -> None:
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    for url in (hook_receiver.url(host="localhost"), hook_receiver.url(), "https://127.0.0.1/hook"):
        error = assert_error(
            hooks.client.post(URL, {"url": url, "event_types": ["task.*"]}, format="json"), 400
        )
        assert "url" in error["fields"]
    # A public address over plain http: https is required.
    error = assert_error(
        hooks.client.post(
            URL, {"url": "http://93.184.215.14/", "event_types": ["task.*"]}, format="json"
        ),
        400,
    )
    assert error["fields"]["url"] == ["Must be an https URL."]
    assert not hook_receiver.received


def test_members_viewers_and_billing_cannot_manage_endpoints(
    hooks: Org, hook_receiver: Any
) -> None:
    created = register_endpoint(hooks, hook_receiver.url())
    for role in ("member", "viewer", "billing"):
        other = hooks.join(role)
        assert_error(other.client.get(URL), 403)
        body = {"url": hook_receiver.url(), "event_types": ["task.*"]}
        assert_error(other.client.post(URL, body, format="json"), 403)
        assert_error(other.client.get(f"{URL}{created['id']}/deliveries/"), 403)
    admin = hooks.join("admin")
    assert admin.client.get(f"{URL}{created['id']}/").status_code == 200


def test_a_plan_without_the_api_feature_answers_402(acme: Org, hook_receiver: Any) -> None:
    error = assert_error(
        acme.client.post(
            URL, {"url": hook_receiver.url(), "event_types": ["task.*"]}, format="json"
        ),
        402,
        "entitlement_exceeded",
    )
    assert error["entitlement"] == "feature:api"


def test_at_most_the_limit_of_endpoints(hooks: Org, hook_receiver: Any, settings: Any) -> None:
    settings.WEBHOOKS_ENDPOINTS_PER_TENANT = 2
    register_endpoint(hooks, hook_receiver.url("/a"))
    register_endpoint(hooks, hook_receiver.url("/b"))
    assert_error(
        hooks.client.post(
            URL, {"url": hook_receiver.url("/c"), "event_types": ["task.*"]}, format="json"
        ),
        409,
        "webhook_endpoint_limit_reached",
    )


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_creates_cannot_both_take_the_last_place(
    committed: None, make_org: Any, hook_receiver: Any, settings: Any
) -> None:
    org = make_org("acme").on_plan("starter")
    settings.WEBHOOKS_ENDPOINTS_PER_TENANT = 1

    def create(path: str) -> int:
        client = client_for(org.tenant, org.user)
        body = {"url": hook_receiver.url(path), "event_types": ["task.*"]}
        return int(client.post(URL, body, format="json").status_code)

    assert sorted(at_once(lambda: create("/a"), lambda: create("/b"))) == [201, 409]
    with org.tenant:
        assert WebhookEndpoint.objects.count() == 1


def test_update_and_delete_are_audited(hooks: Org, hook_receiver: Any) -> None:
    created = register_endpoint(hooks, hook_receiver.url(), ["task.*"])
    path = f"{URL}{created['id']}/"
    updated = hooks.ok("patch", path.removeprefix("/api/v1/"), {"event_types": ["project.created"]})
    assert updated["event_types"] == ["project.created"]
    assert_error(hooks.client.patch(path, {"url": "https://10.1.2.3/"}, format="json"), 400)
    assert_error(hooks.client.patch(path, {"event_types": ["nope"]}, format="json"), 400)
    assert hooks.client.delete(path).status_code == 204
    assert_error(hooks.client.get(path), 404, "webhook_endpoint_not_found")
    with hooks.tenant:
        actions = list(
            AuditEntry.objects.filter(target_type="webhook_endpoint")
            .order_by("id")
            .values_list("action", flat=True)
        )
        entries = list(AuditEntry.objects.filter(target_type="webhook_endpoint"))
    assert actions == [
        "webhook_endpoint.created",
        "webhook_endpoint.updated",
        "webhook_endpoint.deleted",
    ]
    assert all(created["secret"] not in str(entry.changes) for entry in entries)


def test_another_organization_cannot_see_or_change_an_endpoint(
    hooks: Org, beta: Org, hook_receiver: Any
) -> None:
    created = register_endpoint(hooks, hook_receiver.url())
    path = f"{URL}{created['id']}/"
    beta.on_plan("starter")
    assert beta.client.get(URL).json()["results"] == []
    assert_error(beta.client.get(path), 404)
    assert_error(beta.client.patch(path, {"enabled": False}, format="json"), 404)
    assert_error(beta.client.delete(path), 404)
    assert_error(beta.client.post(f"{path}rotate-secret/"), 404)
    assert_error(beta.client.post(f"{path}test/"), 404)
    # acme's owner's token on beta's host is refused before any of this.
    assert_error(client_for(beta.tenant).get(path), 401)
    assert hooks.client.get(path).status_code == 200


def test_a_test_run_registers_nothing_off_this_machine(hooks: Org) -> None:
    """WEBHOOKS_LOOPBACK_ONLY (set for the whole run): a public address is refused too."""
    body = {"url": "https://93.184.215.14/hook", "event_types": ["task.*"]}
    error = assert_error(hooks.client.post(URL, body, format="json"), 400)
    assert "loopback only" in error["fields"]["url"][0]
