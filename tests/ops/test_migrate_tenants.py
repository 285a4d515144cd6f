"""migrate_tenants: schemas at the target are skipped, the rest migrated in parallel, the first
failure stops the run with a report, and a re-run resumes."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import connection
from psycopg import sql

from tenants.db import schema_activate_public
from tenants.management.commands.migrate_tenants import schemas_behind, target_migrations
from tenants.services import tenant_create


def _unmigrate_workspace(schema: str) -> None:
    """Put a schema behind: roll its workspace app back to zero."""
    connection.set_schema(schema)  # type: ignore[attr-defined]
    call_command(MigrateCommand(), "workspace", "zero", verbosity=0, interactive=False)
    schema_activate_public()


def _table_exists(schema: str, table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f"{schema}.{table}"])
        return cursor.fetchone()[0] is not None


def _run(*args: str) -> str:
    out = StringIO()
    call_command("migrate_tenants", *args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def three(committed: None) -> list[str]:
    return [tenant_create(name=s, slug=s).schema_name for s in ("one", "two", "three")]


def test_schemas_at_the_target_are_skipped_untouched(three: list[str]) -> None:
    output = _run("--workers", "2")

    assert "3 tenant schemas: 3 current (skipped), 0 to migrate" in output
    assert "[1/" not in output  # no schema was migrated


def test_schemas_behind_are_migrated_in_parallel_with_progress(three: list[str]) -> None:
    _unmigrate_workspace(three[0])
    _unmigrate_workspace(three[2])
    assert schemas_behind(three, target_migrations()) == [three[0], three[2]]

    output = _run("--workers", "2")

    assert "1 current (skipped), 2 to migrate" in output
    assert "[2/2]" in output
    assert "ETA" in output
    assert schemas_behind(three, target_migrations()) == []
    assert _table_exists(three[0], "workspace_project")


def test_first_failure_stops_with_a_report_and_a_rerun_resumes(three: list[str]) -> None:
    for schema in three:
        _unmigrate_workspace(schema)
    # The first schema cannot migrate: a table is in the way of workspace.0001_initial.
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("CREATE TABLE {}.workspace_project (x int)").format(sql.Identifier(three[0]))
        )

    with pytest.raises(CommandError) as failed:
        _run("--workers", "1")

    report = str(failed.value)
    assert three[0] in report
    assert "workspace.0001_initial" in report
    assert "already exists" in report
    # Stopped: the schemas after the failing one were not started.
    assert schemas_behind(three, target_migrations()) == three

    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP TABLE {}.workspace_project").format(sql.Identifier(three[0])))
    output = _run("--workers", "2")

    assert "3 to migrate" in output
    assert schemas_behind(three, target_migrations()) == []


def test_the_template_is_migrated_too(committed: None) -> None:
    _unmigrate_workspace("_template")
    try:
        output = _run()
    finally:
        call_command("migrate_tenants")
    assert "_template: migrating the clone template" in output
    assert schemas_behind(["_template"], target_migrations()) == []


def test_a_tenant_whose_schema_is_gone_is_reported_and_skipped(three: list[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(three[1])))
    _unmigrate_workspace(three[2])

    output = _run("--workers", "2")

    assert f"{three[1]}: schema does not exist; skipped" in output
    assert "1 current (skipped), 1 to migrate" in output
    assert schemas_behind([three[0], three[2]], target_migrations()) == []
