"""Runs every benchmark in bench/ against a database of its own (`saas bench` sets it up)."""

import json
import os

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate_schemas", interactive=False, verbosity=0)
    from bench import billing_queries, ops_scale, provisioning, tasks_throughput, webhooks

    for figure in [
        *provisioning.run(),
        *billing_queries.run(),
        *webhooks.run(),
        *ops_scale.run(),
        *tasks_throughput.run(),
    ]:
        print(json.dumps(figure), flush=True)


if __name__ == "__main__":
    main()
