import json
from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from saas.errors import ApplicationError

from . import operations
from .models import Domain, Tenant


class DomainInline(admin.TabularInline):
    """Shown, not edited: a tenant's host follows its slug, and a tenant without its domain
    would be unreachable."""

    model = Domain
    extra = 0
    readonly_fields = ("domain", "is_primary")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "status", "schema_name", "created_at")
    list_filter = ("status", "billing_account__plan", "billing_account__status", "created_at")
    # What an operator is handed: a slug, a host, a schema in a log line, a member's email.
    search_fields = ("slug", "name", "schema_name", "domains__domain", "memberships__user__email")
    readonly_fields = ("schema_name", "created_at", "updated_at", "status_changed_at")
    inlines = [DomainInline]
    actions = ["suspend", "reactivate", "export", "archive"]

    # A tenant is its row, domain, schema, billing account and owner, made or archived
    # together by the services: the admin's plain add and delete would make half of one.
    # Operators create with `saas manage create_tenant` (or signup) and use "Archive".
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        operation: Callable[..., object],
        verb: str,
    ) -> None:
        for tenant in queryset:
            try:
                operation(tenant=tenant)
                self.message_user(request, f"{tenant.slug}: {verb}.")
            except ApplicationError as exc:
                self.message_user(request, f"{tenant.slug}: {exc.message}", messages.ERROR)

    @admin.action(description="Suspend selected tenants")
    def suspend(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, operations.tenant_suspend, "suspended")

    @admin.action(description="Reactivate selected tenants")
    def reactivate(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, operations.tenant_reactivate, "reactivated")

    @admin.action(description="Archive selected tenants (cancels Stripe first; purged later)")
    def archive(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, operations.tenant_archive, "archived")

    @admin.action(description="Export selected tenants as JSON")
    def export(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        data = {t.slug: operations.tenant_export(tenant=t) for t in queryset}
        response = HttpResponse(json.dumps(data, indent=2), content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="tenants-export.json"'
        return response


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "tenant", "is_primary")
    search_fields = ("domain",)
    readonly_fields = ("domain", "tenant", "is_primary")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
