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

    # Each bench's figures are printed as soon as it finishes (ops_scale takes minutes).
    for bench in (provisioning, billing_queries, webhooks, tasks_throughput, ops_scale):
        for figure in bench.run():
            print(json.dumps(figure), flush=True)


if __name__ == "__main__":
    main()
