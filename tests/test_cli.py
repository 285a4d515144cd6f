"""`saas manage ARGS`: manage.py on the services `saas dev` uses, in dev."""

from uuid import uuid4

import psycopg
from django.db import connection

from saas_devtools import devservices
from tests.support.processes import database_url_of_this_run, saas_cli

REPORT_DATABASE = """
from django.conf import settings
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT current_database()")
    print(settings.DJANGO_ENV, cursor.fetchone()[0])
"""


def server_url() -> str:
    """The test database's server, without a database name."""
    return database_url_of_this_run().rsplit("/", 1)[0]


def missing_database_url() -> tuple[str, str]:
    name = f"saas_missing_{uuid4().hex[:8]}"
    return name, f"{server_url()}/{name}"


def test_saas_manage_runs_a_command_in_dev_on_the_database_given(db: None) -> None:
    result = saas_cli("manage", "shell", "-c", REPORT_DATABASE)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == f"dev {connection.settings_dict['NAME']}"


def test_saas_manage_on_a_missing_database_says_so_in_one_line(db: None) -> None:
    name, url = missing_database_url()

    result = saas_cli("manage", "showmigrations", DATABASE_URL=url)

    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    explanation = output.splitlines()[-1]
    assert f"database {name!r} does not exist on " in explanation
    assert "unset DATABASE_URL" in explanation


def test_saas_dev_makes_the_missing_database_it_is_given(db: None) -> None:
    name, url = missing_database_url()
    try:
        assert devservices.postgres_check(url, create=True) is None
        assert devservices.postgres_check(url) is None  # there now
    finally:
        with psycopg.connect(f"{server_url()}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
