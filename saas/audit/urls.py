from django.urls import path

from .apis import AuditLogListApi

urlpatterns = [
    path("audit-log/", AuditLogListApi.as_view(), name="audit-log"),
]
