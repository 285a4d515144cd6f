"""django-tenants' create_tenant_superuser: users live in the public schema and belong to an
organization by membership, so a "tenant superuser" would be an operator account with no
membership. Refused for createsuperuser (the operator admin) and invitations."""

from django_tenants.management.commands.create_tenant_superuser import (
    Command as DjangoTenantsCommand,
)

from ._refused import RefusedMixin


class Command(RefusedMixin, DjangoTenantsCommand):
    refused_because = "users are shared by every schema and join an organization as members"
    use_instead = (
        "`saas manage createsuperuser` for the operator admin; owners come with "
        "`saas manage create_tenant`, members by invitation"
    )
