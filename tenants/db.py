"""Typed access to django-tenants' schema switching on the default connection (its backend
adds these methods at run time, so the Django stubs do not know them)."""

from typing import Any

from django.db import connection

_tenant_connection: Any = connection


def schema_activate_public() -> None:
    _tenant_connection.set_schema_to_public()


def schema_activate(tenant: Any) -> None:
    _tenant_connection.set_tenant(tenant)


def search_path_reset() -> None:
    """After raw SQL changed search_path, make the backend set it again on next use."""
    _tenant_connection.search_path_set_schemas = None
