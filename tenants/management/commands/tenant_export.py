"""manage.py tenant_export SLUG [-o FILE] [--pg-dump FILE]"""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saas.errors import ApplicationError
from tenants.operations import tenant_export, tenant_export_pg_dump

from ._tenant_arg import add_tenant_argument, tenant_from


class Command(BaseCommand):
    help = "Export a tenant's data as JSON (schema tables + public rows), or pg_dump its schema."

    def add_arguments(self, parser: CommandParser) -> None:
        add_tenant_argument(parser)
        parser.add_argument("-o", "--output", help="JSON file (default: standard output)")
        parser.add_argument("--pg-dump", help="also write a pg_dump (custom format) here")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_from(options)
        data = json.dumps(tenant_export(tenant=tenant), indent=2, sort_keys=True)
        if options["output"]:
            Path(options["output"]).write_text(data + "\n")
            self.stderr.write(f"{tenant.slug}: JSON export written to {options['output']}")
        else:
            self.stdout.write(data)
        if options["pg_dump"]:
            try:
                tenant_export_pg_dump(tenant=tenant, path=Path(options["pg_dump"]))
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
            self.stderr.write(f"{tenant.slug}: pg_dump written to {options['pg_dump']}")
