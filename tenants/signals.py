"""Host-cache invalidation after a tenant or domain change commits."""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Domain, Tenant
from .resolution import tenant_cache_invalidate


@receiver([post_save, post_delete], sender=Tenant)
@receiver([post_save, post_delete], sender=Domain)
def _invalidate_host_cache(sender: Any, **kwargs: Any) -> None:
    transaction.on_commit(tenant_cache_invalidate)
