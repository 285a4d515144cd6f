"""manage.py tenant_reactivate SLUG"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saas.errors import ApplicationError
from tenants.operations import tenant_reactivate

from ._tenant_arg import add_tenant_argument, tenant_from


class Command(BaseCommand):
    help = "Set a tenant active again."

    def add_arguments(self, parser: CommandParser) -> None:
        add_tenant_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = tenant_reactivate(tenant=tenant_from(options))
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{tenant.slug}: {tenant.status}")
