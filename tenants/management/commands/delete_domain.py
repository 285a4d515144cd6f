"""django-tenants' delete_domain can take a tenant's only host away, leaving a tenant row
nobody can reach: refused for tenant_delete."""

from django_tenants.management.commands.delete_domain import Command as DjangoTenantsCommand

from ._refused import RefusedMixin


class Command(RefusedMixin, DjangoTenantsCommand):
    refused_because = "a tenant's domain (<slug>.BASE_DOMAIN) lives and dies with the tenant"
    use_instead = "`saas manage tenant_delete SLUG` to take a tenant off the air"
