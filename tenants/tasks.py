"""Tenant housekeeping tasks (Celery beat runs them; see tenants/beat.py)."""

from celery import shared_task


@shared_task
def tenants_purge_archived() -> list[str]:
    """Drop the schema and public rows of tenants archived beyond TENANT_PURGE_AFTER_DAYS."""
    from .operations import tenants_purge_archived as purge

    return purge()
