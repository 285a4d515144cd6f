"""The one catalog of event types an endpoint can subscribe to, with each payload's shape
(the OpenAPI document's `webhooks` section is built from it: api_schema.py).

Every type here is emitted by a service in the transaction of its change
(services.webhook_event_record): projects and tasks (saas.workspace.services) and
memberships (accounts.services). `webhook.test` is sent only by the "send test event" action,
to the one endpoint it names; it cannot be subscribed to.
"""

from dataclasses import dataclass

from rest_framework import serializers


class ProjectPayload(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    archived = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ProjectDeletedPayload(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class TaskPayload(serializers.Serializer):
    id = serializers.IntegerField()
    project_id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    status = serializers.CharField(help_text="todo, in_progress or done.")
    priority = serializers.IntegerField(help_text="1 (low) to 4 (urgent).")
    due_date = serializers.DateField(allow_null=True)
    assignee = serializers.IntegerField(allow_null=True, help_text="A member's user id.")
    archived = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TaskDeletedPayload(serializers.Serializer):
    id = serializers.IntegerField()
    project_id = serializers.IntegerField()


class MemberPayload(serializers.Serializer):
    user_id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.CharField(help_text="owner, admin, billing, member or viewer.")


class MemberRemovedPayload(serializers.Serializer):
    user_id = serializers.IntegerField()
    role = serializers.CharField(help_text="The role the member had.")


class MemberRoleChangedPayload(serializers.Serializer):
    user_id = serializers.IntegerField()
    role = serializers.CharField()
    previous_role = serializers.CharField()


class TestPayload(serializers.Serializer):
    endpoint_id = serializers.IntegerField()
    message = serializers.CharField()


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    payload: type[serializers.Serializer]
    # Delivered in order per endpoint: one is not attempted while an earlier event of an
    # ordered type is still pending for the same endpoint (services.py says how).
    ordered: bool = False


TEST_EVENT = EventType("webhook.test", "Sent by the send-test-event action only.", TestPayload)

EVENT_TYPES: dict[str, EventType] = {
    event.name: event
    for event in (
        EventType("project.created", "A project was created.", ProjectPayload),
        EventType(
            "project.updated", "A project was changed, archived or restored.", ProjectPayload
        ),
        EventType(
            "project.deleted", "A project and its tasks were deleted.", ProjectDeletedPayload
        ),
        EventType("task.created", "A task was created.", TaskPayload),
        EventType("task.updated", "A task was changed, archived or restored.", TaskPayload),
        EventType("task.deleted", "A task was deleted.", TaskDeletedPayload),
        # Ordered: a receiver mirroring roles must never apply an older change last.
        EventType("member.added", "Someone joined the organization.", MemberPayload, ordered=True),
        EventType(
            "member.removed", "A member left or was removed.", MemberRemovedPayload, ordered=True
        ),
        EventType(
            "member.role_changed",
            "A member's role changed (ownership transfers included).",
            MemberRoleChangedPayload,
            ordered=True,
        ),
    )
}

ORDERED = [name for name, event in EVENT_TYPES.items() if event.ordered]
GROUPS = sorted({name.split(".", 1)[0] for name in EVENT_TYPES})
WILDCARDS = [f"{group}.*" for group in GROUPS]
SUBSCRIBABLE = [*EVENT_TYPES, *WILDCARDS]


def event_type_matches(subscribed: list[str], event_type: str) -> bool:
    """Does an endpoint subscribed to `subscribed` (names and `group.*`) get `event_type`?"""
    group = event_type.split(".", 1)[0]
    return event_type in subscribed or f"{group}.*" in subscribed
