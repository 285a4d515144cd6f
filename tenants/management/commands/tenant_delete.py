"""manage.py tenant_delete SLUG: archive now (Stripe subscription canceled first), purge later."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from saas.errors import ApplicationError
from tenants.operations import tenant_archive

from ._tenant_arg import add_tenant_argument, tenant_from


class Command(BaseCommand):
    help = (
        "Archive a tenant: cancel its Stripe subscription, then archive (its host answers 404). "
        "tenant_purge_archived drops it after TENANT_PURGE_AFTER_DAYS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_tenant_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = tenant_archive(tenant=tenant_from(options))
        except ApplicationError as exc:
            raise CommandError(f"nothing archived: {exc.message}") from exc
        self.stdout.write(
            f"{tenant.slug}: archived; purged after {settings.TENANT_PURGE_AFTER_DAYS} days "
            "(or now: manage.py tenant_purge_archived --now)"
        )
