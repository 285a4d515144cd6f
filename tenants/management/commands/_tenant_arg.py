"""The one way tenant commands name a tenant: its slug."""

from django.core.management.base import CommandError, CommandParser

from tenants.models import Tenant


def add_tenant_argument(parser: CommandParser) -> None:
    parser.add_argument("slug", help="the tenant's slug")


def tenant_from(options: dict) -> Tenant:
    try:
        return Tenant.objects.get(slug=options["slug"])
    except Tenant.DoesNotExist:
        raise CommandError(f"no tenant with slug {options['slug']!r}") from None
