"""The operator's view of OAuth2 applications (django-oauth-toolkit's admin, set by
OAUTH2_PROVIDER["APPLICATION_ADMIN_CLASS"]). An organization's admins register and edit them
over its API, within their own role's scopes; the operator may only look, or delete one (a
leaked secret), which goes through the service and so into the organization's audit log."""

from django.db.models import QuerySet
from django.http import HttpRequest
from oauth2_provider.admin import ApplicationAdmin

from ..models import OAuthApplication
from .services import oauth_application_delete


class OAuthApplicationAdmin(ApplicationAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: OAuthApplication) -> None:
        oauth_application_delete(tenant=obj.tenant, application_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for application in queryset.select_related("tenant"):
            self.delete_model(request, application)
