"""Billing follows tenant and membership changes."""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import Membership
from tenants.signals import tenant_provisioned

from .models import BillingAccount, Plan
from .services.accounts import billing_account_open
from .services.seats import seat_sync_mark_dirty
from .throttling import limits_forget


@receiver(tenant_provisioned)
def _open_billing_account(sender: Any, tenant: Any, **kwargs: Any) -> None:
    billing_account_open(tenant=tenant)


@receiver(post_save, sender=Membership)
@receiver(post_delete, sender=Membership)
def _seats_follow_members(sender: Any, instance: Membership, **kwargs: Any) -> None:
    if kwargs.get("created", True):  # a new or deleted membership; a role change is no seat
        seat_sync_mark_dirty(tenant_id=instance.tenant_id)


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
