"""Fast tenant schemas: clone a migrated template schema instead of migrating each tenant.

The template (settings.TENANT_TEMPLATE_SCHEMA) is kept migrated by `migrate_schemas`. A clone
is one SQL batch: CREATE TABLE ... (LIKE template.t INCLUDING ALL) for every table, the
foreign keys re-pointed at the new schema, and the template's rows (its django_migrations
records) copied. The batch is built once per process for each template state and runs in the
caller's transaction, so a failure leaves no half-made schema.
"""

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_exists
from psycopg import sql

from .db import schema_activate_public, search_path_reset

_TABLES_SQL = """
SELECT c.relname, c.relkind
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
 ORDER BY c.relname
"""
# Constraints and indexes rendered with pg_catalog as the only search path, so every reference
# is schema-qualified and the template's own tables can be told from public ones. Constraints
# come in dependency order: primary/unique keys before the foreign keys that need them.
_CONSTRAINTS_SQL = """
SELECT rel.relname, con.conname, pg_get_constraintdef(con.oid)
  FROM pg_constraint con
  JOIN pg_class rel ON rel.oid = con.conrelid
  JOIN pg_namespace ns ON ns.oid = rel.relnamespace
 WHERE ns.nspname = %s AND con.contype IN ('p', 'u', 'x', 'f')
 ORDER BY con.contype = 'f', rel.relname, con.conname
"""
# Indexes that back no constraint (those come with their constraint above).
_INDEXES_SQL = """
SELECT pg_get_indexdef(i.indexrelid)
  FROM pg_index i
  JOIN pg_class rel ON rel.oid = i.indrelid
  JOIN pg_namespace ns ON ns.oid = rel.relnamespace
  JOIN pg_class idx ON idx.oid = i.indexrelid
 WHERE ns.nspname = %s
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
 ORDER BY idx.relname
"""
_SERIAL_DEFAULTS_SQL = """
SELECT count(*) FROM pg_attrdef d
  JOIN pg_class c ON c.oid = d.adrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %s AND pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%%'
"""


class TemplateNotClonable(RuntimeError):
    """The template holds objects the clone does not copy faithfully."""


@dataclass(frozen=True)
class _ClonePlan:
    state: tuple[int, str]  # (migration count, latest applied) of the template it was built for
    tables: tuple[str, ...]
    constraints: tuple[tuple[str, str, str], ...]  # table, name, definition
    indexes: tuple[str, ...]  # CREATE INDEX statements on the template


_plan_cache: dict[str, _ClonePlan] = {}


def template_schema_name() -> str:
    name = settings.TENANT_TEMPLATE_SCHEMA
    # Unquoted identifiers only: the FK rewrite below matches the template's rendered name.
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise TemplateNotClonable(
            f"TENANT_TEMPLATE_SCHEMA {name!r} must be a lower-case identifier"
        )
    return name


def template_state(template: str) -> tuple[int, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "SELECT count(*), coalesce(max(applied)::text, '') FROM {}.django_migrations"
            ).format(sql.Identifier(template))
        )
        count, latest = cursor.fetchone()
    return int(count), str(latest)


def _build_plan(template: str, state: tuple[int, str]) -> _ClonePlan:
    with connection.cursor() as cursor:
        cursor.execute(_TABLES_SQL, [template])
        relations = cursor.fetchall()
        unsupported = [name for name, kind in relations if kind not in ("r",)]
        cursor.execute(_SERIAL_DEFAULTS_SQL, [template])
        serial_defaults = cursor.fetchone()[0]
        if unsupported or serial_defaults:
            raise TemplateNotClonable(
                f"template {template!r} has views/partitions/serial defaults {unsupported} "
                f"({serial_defaults} serial defaults); extend tenants.provisioning"
            )
        cursor.execute("SET search_path = pg_catalog")
        cursor.execute(_CONSTRAINTS_SQL, [template])
        constraints = tuple(cursor.fetchall())
        cursor.execute(_INDEXES_SQL, [template])
        indexes = tuple(row[0] for row in cursor.fetchall())
        cursor.execute("RESET search_path")
    search_path_reset()
    return _ClonePlan(
        state=state,
        tables=tuple(name for name, _ in relations),
        constraints=constraints,
        indexes=indexes,
    )


def _plan_for(template: str) -> _ClonePlan:
    state = template_state(template)
    plan = _plan_cache.get(template)
    if plan is None or plan.state != state:
        plan = _build_plan(template, state)
        _plan_cache[template] = plan
    return plan


def _clone_statements(plan: _ClonePlan, template: str, target: str) -> sql.Composed:
    src, dst = sql.Identifier(template), sql.Identifier(target)
    parts: list[sql.Composable] = [sql.SQL("CREATE SCHEMA {}").format(dst)]
    # Indexes are left out of LIKE because it would rename them; later migrations that drop
    # or rename an index by name need the names the migrations gave them.
    for table in plan.tables:
        t = sql.Identifier(table)
        parts.append(
            sql.SQL("CREATE TABLE {}.{} (LIKE {}.{} INCLUDING ALL EXCLUDING INDEXES)").format(
                dst, t, src, t
            )
        )
    for table, name, definition in plan.constraints:
        parts.append(
            sql.SQL("ALTER TABLE {}.{} ADD CONSTRAINT {} ").format(
                dst, sql.Identifier(table), sql.Identifier(name)
            )
            + sql.SQL(_retarget(definition, template, target))
        )
    parts.extend(sql.SQL(_retarget(index, template, target)) for index in plan.indexes)
    parts.append(
        sql.SQL("INSERT INTO {dst}.django_migrations SELECT * FROM {src}.django_migrations").format(
            dst=dst, src=src
        )
    )
    parts.append(
        sql.SQL(
            "SELECT setval(pg_get_serial_sequence({qualified}, 'id'), "
            "(SELECT coalesce(max(id), 0) + 1 FROM {dst}.django_migrations), false)"
        ).format(qualified=sql.Literal(f'"{target}".django_migrations'), dst=dst)
    )
    return sql.SQL(";\n").join(parts)


def _retarget(definition: str, template: str, target: str) -> str:
    """Point a definition rendered as "template.table" at the new schema instead."""
    quoted = f'"{target}"'
    return (
        definition.replace(f"REFERENCES {template}.", f"REFERENCES {quoted}.")
        .replace(f" ON {template}.", f" ON {quoted}.")
        .replace(f" ON ONLY {template}.", f" ON ONLY {quoted}.")
    )


def schema_clone_from_template(*, schema_name: str) -> None:
    """Create `schema_name` as a copy of the template. Runs in the caller's transaction."""
    template = template_schema_name()
    plan = _plan_for(template)
    with connection.cursor() as cursor:
        statements = _clone_statements(plan, template, schema_name)
        # Rendered to text so the batch goes out as one simple query: one round trip.
        cursor.execute(statements.as_string(cursor.connection))


def template_schema_sync(*, verbosity: int = 1) -> None:
    """Create the template schema if missing and bring it to the latest migrations."""
    template = template_schema_name()
    if not schema_exists(template):
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(template)))
    call_command(
        "migrate_schemas",
        tenant=True,
        schema_name=template,
        interactive=False,
        verbosity=verbosity,
    )
    schema_activate_public()
    _plan_cache.pop(template, None)
