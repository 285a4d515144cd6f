"""Runs the benchmarks in bench/ against a database of their own (`saas bench` sets it up).

`saas bench` runs every default bench; `saas bench NAME ...` only those named:
http (bench/http_tasks.py, the wrk task-list comparison), profile (bench/request_cost.py, the
per-request cost breakdown, not run by default), tasks_throughput (the older Python-client
throughput bench, superseded by http and not run by default), provisioning, billing_queries,
webhooks, webhooks_out (outbound webhooks: deliveries/s, end-to-end latency, the write path's
cost), ops_scale.
"""

import importlib
import json
import os
import sys

import django

# In order; each bench's figures are printed as soon as it finishes (ops_scale takes minutes).
DEFAULT = (
    "provisioning",
    "billing_queries",
    "webhooks",
    "webhooks_out",
    "http_tasks",
    "ops_scale",
)
BY_NAME_ONLY = ("request_cost", "tasks_throughput")
ALIASES = {"http": "http_tasks", "profile": "request_cost"}


def main(argv: list[str] | None = None) -> int:
    asked = [ALIASES.get(name, name) for name in (sys.argv[1:] if argv is None else argv)]
    unknown = [name for name in asked if name not in DEFAULT + BY_NAME_ONLY]
    if unknown:
        names = ", ".join([*ALIASES, *DEFAULT, *BY_NAME_ONLY])
        print(f"unknown bench {', '.join(unknown)}: one of {names}", file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate_schemas", interactive=False, verbosity=0)
    for name in asked or DEFAULT:
        bench = importlib.import_module(f"bench.{name}")
        for figure in bench.run():
            print(json.dumps(figure), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
