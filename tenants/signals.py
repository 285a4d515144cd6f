"""Tenant signals: provisioning finished, and host-cache invalidation after commit."""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from .models import Domain, Tenant
from .resolution import tenant_cache_invalidate

# Sent inside tenant_create's transaction once the schema exists (kwargs: tenant). Receivers
# that fail roll the whole provisioning back.
tenant_provisioned = Signal()


@receiver([post_save, post_delete], sender=Tenant)
@receiver([post_save, post_delete], sender=Domain)
def _invalidate_host_cache(sender: Any, **kwargs: Any) -> None:
    transaction.on_commit(tenant_cache_invalidate)
