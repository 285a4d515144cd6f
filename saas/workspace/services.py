from accounts.models import User

from .models import Project


def project_create(*, name: str, description: str = "", created_by: User) -> Project:
    return Project.objects.create(name=name, description=description, created_by=created_by)
