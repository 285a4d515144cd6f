"""Cached plan limits are dropped when an account or plan changes (cache invalidation only:
what billing must do when an organization or its members change, the services call)."""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import BillingAccount, Plan
from .throttling import limits_forget


@receiver(post_save, sender=BillingAccount)
def _account_limits_changed(sender: Any, instance: BillingAccount, **kwargs: Any) -> None:
    # Now (this process's next request) and after commit (a reader may have re-cached the
    # old row in between).
    tenant_ids = [instance.tenant_id]
    limits_forget(tenant_ids=tenant_ids)
    transaction.on_commit(lambda: limits_forget(tenant_ids=tenant_ids))


@receiver(post_save, sender=Plan)
def _plan_limits_changed(sender: Any, instance: Plan, **kwargs: Any) -> None:
    tenant_ids = list(
        BillingAccount.objects.filter(plan=instance).values_list("tenant_id", flat=True)
    )
    limits_forget(tenant_ids=tenant_ids)
    transaction.on_commit(lambda: limits_forget(tenant_ids=tenant_ids))
