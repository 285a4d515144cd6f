"""What several benches need: a free loopback port, a bench tenant whose plan's API rate a
bench cannot reach, and dropping bench tenants with their schemas."""

import socket
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import QuerySet
from psycopg import sql

if TYPE_CHECKING:
    from tenants.models import Tenant


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tenants_drop(tenants: QuerySet) -> None:
    """The tenants' rows, then their schemas. Rows first: their memberships go with them, so
    nothing that reacts to a membership reaches for a schema that is already gone."""
    from tenants.db import schema_activate_public

    schema_activate_public()
    schemas = list(tenants.values_list("schema_name", flat=True))
    tenants.delete()
    with connection.cursor() as cursor:
        for schema in schemas:
            cursor.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )


def unlimited_plan_for(tenant: "Tenant", code: str) -> None:
    """Puts `tenant` on a private plan `code` whose API rate a bench cannot reach: the rate
    check still runs on every request, it just never refuses."""
    from billing.models import BillingAccount, Plan
    from billing.throttling import limits_forget

    plan = Plan.objects.create(code=code, name="Bench", public=False, api_requests_per_minute=10**9)
    BillingAccount.objects.filter(tenant=tenant).update(plan=plan)
    limits_forget(tenant_ids=[tenant.pk])
