"""manage.py tenant_purge_archived [--now]"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from tenants.operations import tenants_purge_archived


class Command(BaseCommand):
    help = "Drop the schema and public rows of tenants archived over TENANT_PURGE_AFTER_DAYS ago."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now", action="store_true", help="purge every archived tenant, ignoring retention"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        purged = tenants_purge_archived(now=options["now"])
        for slug in purged:
            self.stdout.write(f"purged {slug}")
        days = settings.TENANT_PURGE_AFTER_DAYS
        self.stdout.write(f"{len(purged)} purged (retention {days} days, --now={options['now']})")
