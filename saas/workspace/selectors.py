from django.db.models import QuerySet

from .models import Project


def project_list() -> QuerySet[Project]:
    """Projects of the current tenant (the connection's schema is the tenant's)."""
    return Project.objects.order_by("-created_at", "-id")
