"""The one catalog of event types an endpoint can subscribe to, with each payload's shape
(the OpenAPI document's `webhooks` section is built from it: openapi.py).

Every type here is emitted by a service in the transaction of its change
(services.webhook_event_record): projects and tasks (saas.workspace.services), memberships
(accounts.services), and the organization's own subscription and invoices
(billing.services.tenant_events, called by the writers of the billing mirror, whatever made
the mirror change: a Stripe webhook, an admin's cancel, a seat sync, the nightly repair;
only when it did change, so a duplicate, replayed or older Stripe event sends nothing).
`webhook.test` is sent only by the "send test event" action, to the one endpoint it names;
it cannot be subscribed to.
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


class SubscriptionPayload(serializers.Serializer):
    id = serializers.CharField(help_text="Stripe's subscription id (sub_...).")
    plan = serializers.CharField(
        help_text="The plan's code. In subscription.canceled, the plan that ended (the "
        "organization is on the free plan from then on)."
    )
    price = serializers.CharField(allow_null=True, help_text="The price's lookup key.")
    unit_amount = serializers.IntegerField(
        allow_null=True, help_text="The price per interval (per seat), in minor units."
    )
    currency = serializers.CharField(allow_null=True, help_text="ISO 4217, lowercase.")
    interval = serializers.CharField(allow_null=True, help_text="month or year.")
    status = serializers.CharField(
        help_text="trialing, active, past_due, unpaid, paused, incomplete, canceled or "
        "incomplete_expired (Stripe's)."
    )
    seats = serializers.IntegerField()
    current_period_start = serializers.DateTimeField(allow_null=True)
    current_period_end = serializers.DateTimeField(allow_null=True)
    trial_end = serializers.DateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    scheduled_change = serializers.CharField(
        allow_null=True,
        help_text="The price (lookup key) Stripe switches to at current_period_end, or null.",
    )


class SubscriptionUpdatedPayload(SubscriptionPayload):
    previous_attributes = serializers.DictField(
        help_text="The fields of this payload that changed, with their values before "
        "(as Stripe's `previous_attributes`)."
    )


class InvoicePayload(serializers.Serializer):
    id = serializers.CharField(help_text="Stripe's invoice id (in_...).")
    subscription = serializers.CharField(
        allow_null=True, help_text="Stripe's id of the subscription it bills (sub_...)."
    )
    number = serializers.CharField()
    status = serializers.CharField(help_text="open, paid, uncollectible or void (Stripe's).")
    currency = serializers.CharField(help_text="ISO 4217, lowercase.")
    subtotal = serializers.IntegerField(help_text="Minor units, as every amount here.")
    total = serializers.IntegerField()
    amount_due = serializers.IntegerField()
    amount_paid = serializers.IntegerField()
    amount_remaining = serializers.IntegerField()
    attempt_count = serializers.IntegerField(help_text="Automatic payment attempts so far.")
    next_payment_attempt = serializers.DateTimeField(
        allow_null=True, help_text="When Stripe retries the payment, if it will."
    )
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    hosted_invoice_url = serializers.CharField(help_text="Stripe's page to see and pay it.")
    invoice_pdf = serializers.CharField()
    created = serializers.DateTimeField()


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
        EventType(
            "subscription.created",
            "A subscription started (a checkout, or a trial): the organization's paid plan.",
            SubscriptionPayload,
            ordered=True,
        ),
        EventType(
            "subscription.updated",
            "The subscription changed: plan, price, status (e.g. past_due after a failed "
            "payment, active again once paid), seats, period (a renewal), trial end, "
            "cancel_at_period_end or a scheduled change.",
            SubscriptionUpdatedPayload,
            ordered=True,
        ),
        EventType(
            "subscription.canceled",
            "The subscription ended (canceled, at once or at its period end, or never "
            "completed): the organization is on the free plan.",
            SubscriptionPayload,
            ordered=True,
        ),
        EventType(
            "invoice.finalized",
            "An invoice was issued (left draft): its number and amounts are final.",
            InvoicePayload,
        ),
        EventType("invoice.paid", "An invoice was paid in full.", InvoicePayload),
        EventType(
            "invoice.payment_failed",
            "An automatic payment attempt failed; next_payment_attempt says when Stripe "
            "retries (null: it will not).",
            InvoicePayload,
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
