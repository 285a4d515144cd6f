"""Events are written in the transaction of the change that causes them: one event and one
delivery per subscribed, enabled endpoint, queued through the outbox with one row however
many endpoints (a fan-out task queues each delivery on the worker); nothing (and one query)
when no endpoint is subscribed."""

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from saas.outbox.models import OutboxMessage
from saas.webhooks_out.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from saas.webhooks_out.services import (
    DELIVER_TASK,
    FAN_OUT_TASK,
    webhook_event_fan_out,
    webhook_event_record,
)
from saas.workspace import services as workspace
from tests.factories import Org
from tests.support.webhook_receiver import register_endpoint


def _events(org: Org) -> list[tuple[str, dict]]:
    with org.tenant:
        return [(e.type, e.data) for e in WebhookEvent.objects.order_by("id")]


def test_project_and_task_changes_over_the_api_record_events(
    hooks: Org, hook_receiver: Any
) -> None:
    endpoint = register_endpoint(hooks, hook_receiver.url(), ["project.*", "task.*"])
    project = hooks.ok("post", "projects/", {"name": "Rocket"})
    task = hooks.ok("post", f"projects/{project['id']}/tasks/", {"title": "Fuel"})
    hooks.ok("patch", f"projects/{project['id']}/tasks/{task['id']}/", {"status": "done"})
    hooks.ok("delete", f"projects/{project['id']}/tasks/{task['id']}/")
    hooks.ok("patch", f"projects/{project['id']}/", {"archived": True})
    hooks.ok("delete", f"projects/{project['id']}/")
    events = _events(hooks)
    assert [kind for kind, _ in events] == [
        "project.created",
        "task.created",
        "task.updated",
        "task.deleted",
        "project.updated",
        "project.deleted",
    ]
    assert events[0][1]["name"] == "Rocket"
    assert events[0][1]["archived"] is False
    assert events[2][1]["status"] == "done"
    assert events[2][1]["project_id"] == project["id"]
    assert events[3][1] == {"id": task["id"], "project_id": project["id"]}
    assert events[4][1]["archived"] is True
    assert events[5][1] == {"id": project["id"], "name": "Rocket"}
    with hooks.tenant:
        deliveries = list(WebhookDelivery.objects.all())
        queued = OutboxMessage.objects.filter(
            task=DELIVER_TASK, schema_name=hooks.tenant.schema_name
        )
        assert sorted(m.kwargs["delivery_id"] for m in queued) == sorted(d.pk for d in deliveries)
    assert len(deliveries) == 6
    assert {d.endpoint_id for d in deliveries} == {endpoint["id"]}
    assert all(d.status == "pending" for d in deliveries)


def test_member_changes_record_events(hooks: Org, hook_receiver: Any) -> None:
    register_endpoint(hooks, hook_receiver.url(), ["member.*"])
    member = hooks.join("member")
    hooks.ok("patch", f"members/{member.user.pk}/", {"role": "viewer"})
    hooks.ok("delete", f"members/{member.user.pk}/")
    assert _events(hooks) == [
        ("member.added", {"user_id": member.user.pk, "email": member.user.email, "role": "member"}),
        (
            "member.role_changed",
            {"user_id": member.user.pk, "role": "viewer", "previous_role": "member"},
        ),
        ("member.removed", {"user_id": member.user.pk, "role": "viewer"}),
    ]


def test_only_subscribed_enabled_endpoints_get_a_delivery(hooks: Org, hook_receiver: Any) -> None:
    projects = register_endpoint(hooks, hook_receiver.url("/p"), ["project.created"])
    wildcard = register_endpoint(hooks, hook_receiver.url("/w"), ["project.*"])
    register_endpoint(hooks, hook_receiver.url("/t"), ["task.*"])
    register_endpoint(hooks, hook_receiver.url("/off"), ["project.*"], enabled=False)
    hooks.ok("post", "projects/", {"name": "A"})
    with hooks.tenant:
        assert sorted(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == sorted(
            [projects["id"], wildcard["id"]]
        )


def test_no_subscribed_endpoint_costs_one_query_and_writes_nothing(
    hooks: Org, hook_receiver: Any
) -> None:
    register_endpoint(hooks, hook_receiver.url(), ["task.*"])
    with hooks.tenant, CaptureQueriesContext(connection) as queries:
        webhook_event_record(event_type="project.created", data={"id": 1})
    assert len(queries.captured_queries) == 1
    assert "webhooks_out_webhookendpoint" in queries.captured_queries[0]["sql"]
    with hooks.tenant:
        assert not WebhookEvent.objects.exists()
        assert not OutboxMessage.objects.filter(task=DELIVER_TASK).exists()


@pytest.mark.parametrize(("endpoints", "task"), [(1, DELIVER_TASK), (3, FAN_OUT_TASK)])
def test_an_event_costs_four_queries_and_one_outbox_row_however_many_endpoints(
    hooks: Org, hook_receiver: Any, endpoints: int, task: str
) -> None:
    for n in range(endpoints):
        register_endpoint(hooks, hook_receiver.url(f"/{n}"), ["task.*"])
    with hooks.tenant, CaptureQueriesContext(connection) as queries:
        webhook_event_record(event_type="task.created", data={"id": 1})
    # The enabled endpoints (with the plan's check), the event, its deliveries, one row.
    assert len(queries.captured_queries) == 4, [q["sql"] for q in queries.captured_queries]
    with hooks.tenant:
        deliveries = sorted(WebhookDelivery.objects.values_list("id", flat=True))
        (queued,) = OutboxMessage.objects.filter(task__in=[DELIVER_TASK, FAN_OUT_TASK])
    assert len(deliveries) == endpoints
    assert queued.task == task
    if endpoints == 1:
        assert queued.kwargs == {"delivery_id": deliveries[0]}
    else:
        assert sorted(queued.kwargs["delivery_ids"]) == deliveries


def test_a_schema_entered_by_name_records_without_the_plan_check(
    hooks: Org, hook_receiver: Any
) -> None:
    """schema_context leaves no tenant row on the connection to check the plan of."""
    register_endpoint(hooks, hook_receiver.url(), ["task.*"])
    with schema_context(hooks.tenant.schema_name):
        assert webhook_event_record(event_type="task.created", data={"id": 1}) is not None
        assert WebhookDelivery.objects.count() == 1


def test_the_fan_out_queues_each_delivery_still_there(hooks: Org, hook_receiver: Any) -> None:
    ids = [register_endpoint(hooks, hook_receiver.url(f"/{n}"), ["task.*"])["id"] for n in range(3)]
    with hooks.tenant:
        webhook_event_record(event_type="task.created", data={"id": 1})
        (fan_out,) = OutboxMessage.objects.filter(task=FAN_OUT_TASK)
    hooks.ok("delete", f"webhook-endpoints/{ids[0]}/")  # its delivery goes with it
    with hooks.tenant:
        # On a worker: a delivery task each, through the outbox; a second run (at least
        # once) queues copies, which find their delivery taken or done.
        assert webhook_event_fan_out(**fan_out.kwargs) == 2
        queued = OutboxMessage.objects.filter(task=DELIVER_TASK)
        remaining = WebhookDelivery.objects.values_list("id", flat=True)
        assert sorted(m.kwargs["delivery_id"] for m in queued) == sorted(remaining)
        assert set(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == set(ids[1:])


def test_a_rolled_back_change_leaves_no_event(hooks: Org, hook_receiver: Any) -> None:
    register_endpoint(hooks, hook_receiver.url(), ["project.*"])
    seen: list[int] = []

    def doomed() -> None:
        with transaction.atomic():
            workspace.project_create(name="Doomed", created_by=hooks.user)
            seen.append(WebhookEvent.objects.count())
            raise RuntimeError

    with hooks.tenant:
        with pytest.raises(RuntimeError):
            doomed()
        assert seen == [1]
        assert not WebhookEvent.objects.exists()
        assert not WebhookDelivery.objects.exists()
        assert not OutboxMessage.objects.filter(task=DELIVER_TASK).exists()


def test_an_organization_never_records_for_another_ones_endpoints(
    hooks: Org, beta: Org, hook_receiver: Any
) -> None:
    beta.on_plan("starter")
    register_endpoint(beta, hook_receiver.url("/beta"), ["project.*", "member.*"])
    hooks.ok("post", "projects/", {"name": "Acme only"})
    hooks.join("member")
    with beta.tenant:
        assert not WebhookEvent.objects.exists()
    with hooks.tenant:
        assert not WebhookEndpoint.objects.exists()
        assert not WebhookEvent.objects.exists()


def test_an_unknown_event_type_is_a_programming_error(hooks: Org) -> None:
    with hooks.tenant, pytest.raises(ValueError, match="catalog"):
        webhook_event_record(event_type="project.exploded", data={})


def test_after_a_downgrade_endpoints_get_nothing_and_can_still_be_turned_off(
    hooks: Org, hook_receiver: Any
) -> None:
    endpoint = register_endpoint(hooks, hook_receiver.url(), ["project.*"])
    hooks.on_plan("free")
    hooks.ok("post", "projects/", {"name": "After"})
    assert _events(hooks) == []
    path = f"webhook-endpoints/{endpoint['id']}/"
    assert hooks.ok("patch", path, {"enabled": False})["enabled"] is False
    refused = hooks.client.patch(f"/api/v1/{path}", {"enabled": True}, format="json")
    assert refused.status_code == 402
    hooks.ok("delete", path)
