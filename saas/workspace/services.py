from django.db import transaction

from accounts.models import User
from billing.services.entitlements import entitlement_require

from .models import Project


@transaction.atomic
def project_create(*, name: str, description: str = "", created_by: User) -> Project:
    entitlement_require(limit="projects")
    return Project.objects.create(name=name, description=description, created_by=created_by)
