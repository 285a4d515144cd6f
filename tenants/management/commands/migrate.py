from tenants.management.commands.migrate_schemas import Command as MigrateSchemas


class Command(MigrateSchemas):
    """`migrate` is `migrate_schemas` here, as django-tenants makes it, template included."""
