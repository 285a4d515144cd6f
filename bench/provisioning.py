"""Tenant provisioning: template clone vs django-tenants' default (CREATE SCHEMA + migrate).

Both paths run side by side in one process against the same database, in alternating blocks
(clone, migrate, clone, migrate) so neither gets the growing catalog or a warm cache for
free. Each block starts with one unrecorded warm-up: the migrate path closes the database
connection after every tenant, and a new PostgreSQL backend's cold catalog cache would
otherwise be charged to whichever path ran next.
"""

import statistics
import time
from collections.abc import Callable

from django.db import connection, transaction

from bench.common import tenants_drop
from tenants.models import Domain, Tenant, TenantStatus
from tenants.organizations import organization_open

N = 20
BLOCKS = 2


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def provision_by_clone(slug: str) -> None:
    organization_open(name=slug, slug=slug)


def provision_by_migrations(slug: str) -> None:
    """What django-tenants does on Tenant.save() with auto_create_schema: every migration."""
    schema = "t_" + slug.replace("-", "_")
    with transaction.atomic():
        tenant = Tenant.objects.create(
            name=slug, slug=slug, schema_name=schema, status=TenantStatus.ACTIVE
        )
        Domain.objects.create(domain=f"{slug}.bench", tenant=tenant)
    tenant.create_schema(check_if_exists=True, sync_schema=True, verbosity=0)


def _drop(prefix: str) -> None:
    tenants_drop(Tenant.objects.filter(slug__startswith=prefix))


def _timed(fn: Callable[[str], None], slug: str) -> float:
    # django-tenants' migrate path closes the connection when it is done; open it again
    # outside the timed region so each sample starts as a web process would: connected.
    connection.ensure_connection()
    started = time.perf_counter()
    fn(slug)
    return (time.perf_counter() - started) * 1000


def run() -> list[dict]:
    _drop("bench-")
    paths = {"clone": provision_by_clone, "migrate": provision_by_migrations}
    samples: dict[str, list[float]] = {name: [] for name in paths}
    per_block = N // BLOCKS
    try:
        for block in range(BLOCKS):
            for name, fn in paths.items():
                _timed(fn, f"bench-{name}-warm{block}")
                for i in range(per_block):
                    samples[name].append(_timed(fn, f"bench-{name}-{block}-{i}"))
    finally:
        _drop("bench-")
    figures = [
        {
            "bench": "tenant_provisioning",
            "path": name,
            "n": N,
            "p50_ms": round(statistics.median(values), 1),
            "p95_ms": round(_percentile(values, 0.95), 1),
        }
        for name, values in samples.items()
    ]
    ratio = statistics.median(samples["migrate"]) / statistics.median(samples["clone"])
    figures.append(
        {"bench": "tenant_provisioning", "ratio": "migrate_p50/clone_p50", "value": round(ratio, 1)}
    )
    return figures
