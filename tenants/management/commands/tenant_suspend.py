"""manage.py tenant_suspend SLUG"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saas.errors import ApplicationError
from tenants.operations import tenant_suspend

from ._tenant_arg import add_tenant_argument, tenant_from


class Command(BaseCommand):
    help = "Set a tenant suspended (its host answers 403 tenant_suspended)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_tenant_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = tenant_suspend(tenant=tenant_from(options))
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{tenant.slug}: {tenant.status}")
