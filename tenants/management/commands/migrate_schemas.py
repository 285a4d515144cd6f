"""django-tenants' migrate_schemas, plus: keeps the clone template migrated."""

from typing import Any

from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand

from tenants.provisioning import template_schema_name, template_schema_sync


class Command(MigrateSchemasCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        super().handle(*args, **options)
        # After a full tenant pass (not `--schema X`, which is also how we migrate the template
        # itself), bring the template up to date so new clones get the new tables.
        targets_all_tenants = self.sync_tenant and not options.get("schema_name")
        if targets_all_tenants and options.get("schema_name") != template_schema_name():
            template_schema_sync(verbosity=int(options.get("verbosity", 1)))
