"""Operator actions on a tenant: suspend, reactivate, export, archive (delete) and purge.

Deleting is two steps. `tenant_archive` cancels the Stripe subscription first and only then
marks the tenant archived (its host answers 404 from then on); if Stripe fails, nothing
changes. `tenant_purge` drops the schema and the public rows of an archived tenant;
`tenants_purge_archived` does that for every tenant archived longer ago than
settings.TENANT_PURGE_AFTER_DAYS (the beat task and the command run it).
"""

import importlib.util
import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from psycopg import sql

from billing.models import BillingAccount
from billing.services.subscriptions import subscription_cancel_now, subscription_mark_canceled
from saas.errors import Conflict

from .db import schema_activate_public
from .models import ALLOWED_TRANSITIONS, Tenant, TenantStatus
from .services import tenant_set_status

# Tables of a tenant schema that are bookkeeping, not the tenant's data.
_NOT_EXPORTED = frozenset({"django_migrations"})


def _locked(tenant: Tenant) -> Tenant:
    return Tenant.objects.select_for_update().get(pk=tenant.pk)


@transaction.atomic
def tenant_suspend(*, tenant: Tenant) -> Tenant:
    """No reads or writes on the tenant's host (403 tenant_suspended) until reactivated."""
    return tenant_set_status(tenant=_locked(tenant), status=TenantStatus.SUSPENDED)


@transaction.atomic
def tenant_reactivate(*, tenant: Tenant) -> Tenant:
    return tenant_set_status(tenant=_locked(tenant), status=TenantStatus.ACTIVE)


def tenant_archive(*, tenant: Tenant) -> Tenant:
    """Cancel the Stripe subscription, then archive. A Stripe error leaves everything as it
    was (the caller sees PaymentProviderUnavailable/Error); running it again is safe."""
    tenant = Tenant.objects.get(pk=tenant.pk)
    if tenant.status == TenantStatus.ARCHIVED:
        return tenant
    if TenantStatus.ARCHIVED not in ALLOWED_TRANSITIONS[TenantStatus(tenant.status)]:
        raise Conflict(
            f"A tenant cannot go from {tenant.status} to archived.", code="invalid_transition"
        )
    subscription_cancel_now(tenant=tenant)  # outside any transaction: no lock held on Stripe
    with transaction.atomic():
        if BillingAccount.objects.filter(tenant=tenant).exists():
            subscription_mark_canceled(tenant=tenant)
        return tenant_set_status(tenant=_locked(tenant), status=TenantStatus.ARCHIVED)


@transaction.atomic
def tenant_purge(*, tenant: Tenant) -> None:
    """Drop an archived tenant's schema and delete its public rows (domains, memberships,
    billing account, invitations, OAuth applications cascade with it)."""
    tenant = _locked(tenant)
    if tenant.status != TenantStatus.ARCHIVED:
        raise Conflict("Only an archived tenant can be purged.", code="tenant_not_archived")
    schema_activate_public()
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(tenant.schema_name))
        )
    tenant.delete()


def tenants_purge_archived(*, now: bool = False) -> list[str]:
    """Purge tenants archived more than TENANT_PURGE_AFTER_DAYS ago (all archived if `now`).
    Returns the purged slugs. Each purge is its own transaction."""
    archived = Tenant.objects.filter(status=TenantStatus.ARCHIVED)
    if not now:
        cutoff = timezone.now() - timedelta(days=settings.TENANT_PURGE_AFTER_DAYS)
        archived = archived.filter(status_changed_at__lt=cutoff)
    purged = []
    for tenant in archived.order_by("pk"):
        tenant_purge(tenant=tenant)
        purged.append(tenant.slug)
    return purged


def tenant_export(*, tenant: Tenant) -> dict[str, Any]:
    """A tenant's data as JSON-ready values: its public rows and every table of its schema.
    Nothing of another tenant: public rows are filtered by this tenant, the schema is its own."""
    account = BillingAccount.objects.filter(tenant=tenant).first()
    return {
        "format": "saas-tenant-export/1",
        "exported_at": timezone.now().isoformat(),
        "tenant": _plain(model_to_dict(tenant)),
        "domains": [{"domain": d.domain, "is_primary": d.is_primary} for d in tenant.domains.all()],
        # Who belongs and how; never password hashes or other credentials.
        "memberships": [
            {
                "email": m.user.email,
                "role": m.role,
                "user_id": m.user_id,
                "created_at": _plain(m.created_at),
            }
            for m in tenant.memberships.select_related("user").order_by("pk")
        ],
        "billing_account": _plain(model_to_dict(account)) if account else None,
        "schema": {"name": tenant.schema_name, "tables": _schema_tables(tenant.schema_name)},
    }


def _schema_tables(schema: str) -> dict[str, list[dict[str, Any]]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", [schema]
        )
        tables = [name for (name,) in cursor.fetchall() if name not in _NOT_EXPORTED]
        out: dict[str, list[dict[str, Any]]] = {}
        for table in tables:
            # row_to_json renders every column type PostgreSQL knows as JSON.
            cursor.execute(
                sql.SQL("SELECT row_to_json(t) FROM {}.{} t").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            )
            out[table] = [row for (row,) in cursor.fetchall()]
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def tenant_export_pg_dump(*, tenant: Tenant, path: Path) -> Path:
    """pg_dump of the tenant's schema (custom format) to `path`, with a pg_dump that can read
    this server (see `pg_dump_for`)."""
    pg_dump = pg_dump_for(server_major=server_major_version())
    db = connection.settings_dict
    command = [pg_dump, "--format=custom", f"--schema={tenant.schema_name}", "-f", str(path)]
    for flag, key in (("-h", "HOST"), ("-p", "PORT"), ("-U", "USER")):
        if db.get(key):
            command += [flag, str(db[key])]
    command.append(str(db["NAME"]))
    env = {"PGPASSWORD": str(db.get("PASSWORD") or "")}
    done = subprocess.run(command, check=False, env={**os.environ, **env}, capture_output=True)  # noqa: S603
    if done.returncode != 0:
        raise Conflict(
            f"pg_dump failed: {done.stderr.decode(errors='replace').strip()}", code="pg_dump_failed"
        )
    return path


def server_major_version() -> int:
    """16 for a PostgreSQL 16.2 server."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def pg_dump_for(*, server_major: int) -> str:
    """The first pg_dump at least as new as the server (pg_dump refuses a newer server) of:
    Debian's for the server's major version, the one the `pgserver` wheel (the embedded
    server) ships, the one on PATH."""
    candidates = [Path(f"/usr/lib/postgresql/{server_major}/bin/pg_dump")]
    pgserver = importlib.util.find_spec("pgserver")  # found, never imported
    if pgserver is not None and pgserver.submodule_search_locations:
        package = Path(list(pgserver.submodule_search_locations)[0])
        candidates.append(package / "pginstall" / "bin" / "pg_dump")
    on_path = shutil.which("pg_dump")
    if on_path is not None:
        candidates.append(Path(on_path))
    unusable = []
    for candidate in (c for c in candidates if c.is_file()):
        major = _pg_dump_major(candidate)
        if major is not None and major >= server_major:
            return str(candidate)
        unusable.append(f"{candidate} ({major or 'version unknown'})")
    raise Conflict(
        f"No pg_dump for PostgreSQL {server_major} here (found: {', '.join(unusable) or 'none'}); "
        "use the JSON export.",
        code="no_pg_dump",
    )


def _pg_dump_major(pg_dump: Path) -> int | None:
    """12 for "pg_dump (PostgreSQL) 12.4"."""
    command = [str(pg_dump), "--version"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)  # noqa: S603
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\) (\d+)", done.stdout)
    return int(match.group(1)) if match and done.returncode == 0 else None
