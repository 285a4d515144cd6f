"""django-tenants' delete_tenant drops the schema and rows at once, with the Stripe
subscription still running: refused for tenant_delete (Stripe first, archive, purge later)."""

from django_tenants.management.commands.delete_tenant import Command as DjangoTenantsCommand

from ._refused import RefusedMixin


class Command(RefusedMixin, DjangoTenantsCommand):
    refused_because = "it drops a tenant at once and leaves its Stripe subscription running"
    use_instead = "`saas manage tenant_delete SLUG` (cancels it, archives, purges later)"
