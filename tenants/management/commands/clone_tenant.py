"""django-tenants' clone_tenant copies another tenant's schema and data into a tenant row
of its own, without billing account or owner: refused for create_tenant."""

from django_tenants.management.commands.clone_tenant import Command as DjangoTenantsCommand

from ._refused import RefusedMixin


class Command(RefusedMixin, DjangoTenantsCommand):
    refused_because = (
        "it copies another tenant's data into a tenant without billing account or owner"
    )
    use_instead = "`saas manage create_tenant --slug ... --name ... --owner-email ...`"
