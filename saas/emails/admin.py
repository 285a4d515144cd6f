from django.contrib import admin

from .models import EmailFailure


@admin.register(EmailFailure)
class EmailFailureAdmin(admin.ModelAdmin):
    """Read-only: the worker writes these. Deleting one marks it dealt with."""

    list_display = ("created_at", "template", "to", "tenant", "target", "attempts", "reason")
    list_filter = ("template", "target_type", "created_at")
    search_fields = ("to", "reason", "tenant__slug")
    date_hierarchy = "created_at"
    list_select_related = ("tenant",)

    @admin.display(description="about")
    def target(self, failure: EmailFailure) -> str:
        return f"{failure.target_type} {failure.target_id}" if failure.target_type else ""

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
