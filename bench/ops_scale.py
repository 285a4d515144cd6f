"""Operations at scale: migrations over many tenant schemas, and whether requests and
provisioning slow down as tenants accumulate.

(a) migrate_tenants vs stock migrate_schemas over MIGRATION_SCHEMAS tenant schemas: a no-op
    run, and a run with one new migration (a throwaway migration module for the workspace app,
    in a temporary directory via MIGRATION_MODULES: nothing is written into the source tree;
    its tables and records are removed afterwards).
(b) p50 of GET /api/v1/projects/ (JWT, full middleware stack, in process) with 10 tenants
    and with MANY tenants present, on the same 10 tenants.
(c) tenant_create p50 with 10 and with MANY tenants present.
Filler tenants are made by the clone path (rows + domain + schema cloned from the template,
without a billing account), and everything is dropped at the end.
"""

import importlib
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.test import Client
from psycopg import sql

from accounts.models import Membership, Role, User
from accounts.tokens import tenant_tokens_issue
from tenants.db import schema_activate_public
from tenants.models import Domain, Tenant, TenantStatus
from tenants.provisioning import schema_clone_from_template
from tenants.services import tenant_create, tenant_domain_for

MIGRATION_SCHEMAS = int(os.environ.get("BENCH_OPS_MIGRATION_SCHEMAS", "1000"))
MANY = int(os.environ.get("BENCH_OPS_TENANTS", "5000"))
FEW = 10
REQUESTS = 300
PROVISIONS = 20
PREFIX = "ops-"
PROBES = ("0002_ops_scale_probe_a", "0003_ops_scale_probe_b")

_MIGRATION = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("workspace", "{previous}")]
    operations = [
        migrations.RunSQL(
            "CREATE TABLE ops_scale_probe_{tag} (id int)", "DROP TABLE ops_scale_probe_{tag}"
        )
    ]
"""


def _p50(samples: list[float]) -> float:
    return round(statistics.median(samples), 2)


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _filler(count: int, start: int) -> None:
    """`count` more tenants by the clone path, 20 per transaction."""
    for batch in range(start, start + count, 20):
        with transaction.atomic():
            for i in range(batch, min(batch + 20, start + count)):
                slug = f"{PREFIX}f{i}"
                tenant = Tenant.objects.create(
                    name=slug,
                    slug=slug,
                    schema_name="t_" + slug.replace("-", "_"),
                    status=TenantStatus.ACTIVE,
                )
                Domain.objects.create(domain=tenant_domain_for(slug), tenant=tenant)
                schema_clone_from_template(schema_name=tenant.schema_name)
    schema_activate_public()


def _bench_tenants() -> int:
    return Tenant.objects.filter(slug__startswith=PREFIX).count()


def _fill_to(total: int) -> None:
    have = _bench_tenants()
    if have < total:
        _filler(total - have, start=have)


def _request_p50(user: User, tenants: list[Tenant]) -> float:
    # Each phase starts with empty caches (this bench's own key prefix): no rate limit carried
    # over, and the warm-up fills the host and access caches again. Tokens are minted per
    # phase: access tokens are short-lived and filling 5,000 tenants takes minutes.
    cache.delete_pattern("*")  # type: ignore[attr-defined]
    hosts = [
        (
            tenant_domain_for(t.slug),
            str(tenant_tokens_issue(user=user, tenant=t, role=Role.ADMIN).access_token),
        )
        for t in tenants
    ]
    client = Client()
    samples = []
    for i in range(REQUESTS + 30):
        host, token = hosts[i % len(hosts)]
        started = time.perf_counter()
        response = client.get(
            "/api/v1/projects/", HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.content
        if i >= 30:  # warm-up: caches filled
            samples.append(elapsed)
    return _p50(samples)


def _provision_p50(tag: str) -> float:
    samples = []
    for i in range(PROVISIONS):
        slug = f"{PREFIX}p{tag}-{i}"
        connection.ensure_connection()
        started = time.perf_counter()
        tenant_create(name=slug, slug=slug)
        samples.append((time.perf_counter() - started) * 1000)
    return _p50(samples)


def _quiet(command: str, **options: object) -> float:
    with redirect_stdout(StringIO()):
        return _timed(lambda: call_command(command, stdout=StringIO(), **options))


def _migrations_dir() -> Path:
    """A copy of the workspace migrations as a package on sys.path, used via MIGRATION_MODULES."""
    root = Path(tempfile.mkdtemp(prefix="ops-scale-"))
    package = root / "ops_scale_migrations"
    source = Path(str(importlib.import_module("saas.workspace.migrations").__file__)).parent
    shutil.copytree(source, package, ignore=shutil.ignore_patterns("__pycache__"))
    sys.path.insert(0, str(root))
    settings.MIGRATION_MODULES = {**settings.MIGRATION_MODULES, "workspace": package.name}
    return package


def _add_migration(package: Path, index: int) -> None:
    if index:
        previous = PROBES[index - 1]
    else:
        [(_, previous)] = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes(
            "workspace"
        )
    tag = PROBES[index][-1]
    (package / f"{PROBES[index]}.py").write_text(_MIGRATION.format(previous=previous, tag=tag))


def _migration_bench() -> dict:
    schemas = Tenant.objects.exclude(schema_name="public").count()
    figure: dict = {"bench": "migrate_tenants", "tenant_schemas": schemas}
    figure["noop_migrate_tenants_s"] = round(_quiet("migrate_tenants", workers=4), 2)
    figure["noop_stock_migrate_schemas_s"] = round(
        _quiet("migrate_schemas", interactive=False, verbosity=0), 2
    )
    figure["noop_speedup"] = round(
        figure["noop_stock_migrate_schemas_s"] / figure["noop_migrate_tenants_s"], 1
    )
    package = _migrations_dir()
    try:
        _add_migration(package, 0)
        figure["one_new_migrate_tenants_s"] = round(_quiet("migrate_tenants", workers=4), 2)
        _add_migration(package, 1)
        figure["one_new_stock_migrate_schemas_s"] = round(
            _quiet("migrate_schemas", interactive=False, verbosity=0), 2
        )
    finally:
        _remove_probes()
        settings.MIGRATION_MODULES = {
            k: v for k, v in settings.MIGRATION_MODULES.items() if k != "workspace"
        }
        shutil.rmtree(package.parent, ignore_errors=True)
    return figure


def _remove_probes() -> None:
    """Drop the probe tables and their records from every schema the bench does not drop."""
    schema_activate_public()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables "
            "WHERE table_name = 'django_migrations' AND table_schema NOT LIKE %s",
            ["t\\_ops\\_%"],
        )
        for (schema,) in cursor.fetchall():
            ident = sql.Identifier(schema)
            for tag in ("a", "b"):
                cursor.execute(
                    sql.SQL("DROP TABLE IF EXISTS {}.{}").format(
                        ident, sql.Identifier(f"ops_scale_probe_{tag}")
                    )
                )
            cursor.execute(
                sql.SQL(
                    "DELETE FROM {}.django_migrations WHERE app = 'workspace' AND name = ANY(%s)"
                ).format(ident),
                [list(PROBES)],
            )
    from tenants.provisioning import _plan_cache

    _plan_cache.clear()


def _cleanup() -> None:
    schema_activate_public()
    tenants = Tenant.objects.filter(slug__startswith=PREFIX)
    schemas = list(tenants.values_list("schema_name", flat=True))
    with connection.cursor() as cursor:
        for start in range(0, len(schemas), 25):
            names = sql.SQL(", ").join(sql.Identifier(s) for s in schemas[start : start + 25])
            cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(names))
    tenants.delete()
    User.objects.filter(email__startswith=PREFIX).delete()


def run() -> list[dict]:
    for name in ("saas.access", "django.request"):  # one line per request is noise here
        logging.getLogger(name).setLevel(logging.ERROR)
    _cleanup()
    figures: list[dict] = []
    try:
        user = User.objects.create_user(email=f"{PREFIX}bench@example.test", password=None)
        measured = []
        for i in range(FEW):
            slug = f"{PREFIX}r{i}"
            tenant = tenant_create(name=slug, slug=slug)
            Membership.objects.create(user=user, tenant=tenant, role=Role.ADMIN)
            measured.append(tenant)
        few: dict[str, float] = {
            "request_p50_ms": _request_p50(user, measured),
            "provision_p50_ms": _provision_p50("few"),
        }
        few["tenants"] = _bench_tenants() - PROVISIONS
        _fill_to(MIGRATION_SCHEMAS)
        figures.append(_migration_bench())
        _fill_to(MANY)
        many: dict[str, float] = {"tenants": _bench_tenants()}
        many["request_p50_ms"] = _request_p50(user, measured)
        many["provision_p50_ms"] = _provision_p50("many")
        for what in ("request_p50_ms", "provision_p50_ms"):
            figures.append(
                {
                    "bench": "tenants_present",
                    "figure": what,
                    f"with_{int(few['tenants'])}": few[what],
                    f"with_{int(many['tenants'])}": many[what],
                    "ratio": round(many[what] / few[what], 2),
                }
            )
    finally:
        _cleanup()
    return figures
