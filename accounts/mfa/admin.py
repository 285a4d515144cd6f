"""The operator admin's view of second factors: which kinds a person has and when they were
used, never their (encrypted) secrets. allauth's own admin shows and edits the raw data; a
factor is made and removed only by its person over the API (audited there)."""

from typing import Any

from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.http import HttpRequest


class AuthenticatorAdmin(admin.ModelAdmin):
    list_display = ("user", "type", "created_at", "last_used_at")
    list_filter = ("type", "created_at", "last_used_at")
    search_fields = ("user__email",)
    fields = ("user", "type", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


admin.site.unregister(Authenticator)
admin.site.register(Authenticator, AuthenticatorAdmin)
