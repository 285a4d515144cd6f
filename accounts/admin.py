from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from saas.errors import ApplicationError

from .models import Membership, Role, User
from .services import user_delete


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "is_active", "is_staff", "date_joined")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password", "full_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    # Deleting goes through accounts.services.user_delete: an owner is refused, and each
    # membership leaves the organization's audit log and seat count as a removal does.
    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        owner = obj is not None and obj.memberships.filter(role=Role.OWNER).exists()
        return not owner and super().has_delete_permission(request, obj)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        user_delete(user=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for user in queryset:
            try:
                user_delete(user=user)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "tenant__slug")
    raw_id_fields = ("user", "tenant")

    # Read-only: members join by signup or invitation and change through the organization's
    # API (accounts.services), which keeps one owner per organization, the seat count and
    # the audit log right.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
