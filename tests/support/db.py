"""The test database between tests that commit: dropping what they provisioned, and waiting
for other sessions (the Celery worker) to finish with it first."""

import time

from django.db import connection
from psycopg import sql

from tenants.db import schema_activate_public


def drop_tenant_schemas() -> None:
    """Transactional tests commit: remove what they provisioned."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%%'")
        for (schema,) in cursor.fetchall():
            cursor.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    schema_activate_public()


def other_sessions_settle(*, worker_running: bool, timeout: float = 15.0) -> None:
    """Wait (bounded) until the session's Celery worker, if one runs, has run the tasks this
    test's commits handed over (a signup's Stripe customer: the outbox row goes when its task
    ran) and no other session of the test database is mid-statement or mid-transaction.
    Dropping schemas and truncating tables under a task's locks deadlocks, and the next test
    finds this one's rows."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
            )
            busy = cursor.fetchone()[0]
            if worker_running:
                cursor.execute(
                    "SELECT count(*) FROM public.outbox_outboxmessage "
                    "WHERE sent_at IS NOT NULL AND due_at <= now()"
                )
                busy += cursor.fetchone()[0]
            if busy == 0:
                return
            time.sleep(0.05)


def tenant_schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%%'")
        return {row[0] for row in cursor.fetchall()}
