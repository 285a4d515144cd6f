"""Operator view of Stripe events: state, attempts, last error; replay from the list."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from ..models import WebhookEvent, WebhookNotification
from .services import webhook_event_enqueue


class NotificationInline(admin.TabularInline):
    model = WebhookNotification
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "recipients", "created_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = (
        "stripe_event_id",
        "type",
        "state",
        "attempts",
        "account",
        "note",
        "received_at",
        "processed_at",
        "next_attempt_at",
    )
    list_filter = ("state", "source", "type")
    search_fields = (
        "stripe_event_id",
        "type",
        "account__tenant__slug",
        "account__stripe_customer_id",
        "note",
        "last_error",
    )
    date_hierarchy = "received_at"
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]
    list_select_related = ("account__tenant",)
    inlines = [NotificationInline]
    actions = ["replay"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # events come from Stripe

    @admin.action(description="Process again (failed, pending or stuck events)")
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        pks = list(queryset.exclude(state__in=["done", "ignored"]).values_list("pk", flat=True))
        for pk in pks:
            webhook_event_enqueue(event_pk=pk)
        messages.info(request, f"Queued {len(pks)} events (finished ones skipped).")
