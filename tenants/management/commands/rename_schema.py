"""django-tenants' rename_schema moves a tenant off the schema its slug names: refused."""

from django_tenants.management.commands.rename_schema import Command as DjangoTenantsCommand

from ._refused import RefusedMixin


class Command(RefusedMixin, DjangoTenantsCommand):
    refused_because = "a tenant's schema is t_<slug> and its slug is its host: neither is renamed"
    use_instead = "`saas manage create_tenant` to make an organization under another slug"
