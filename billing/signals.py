"""Billing follows tenant and membership changes."""

from typing import Any

from django.dispatch import receiver

from tenants.signals import tenant_provisioned

from .services.accounts import billing_account_open


@receiver(tenant_provisioned)
def _open_billing_account(sender: Any, tenant: Any, **kwargs: Any) -> None:
    billing_account_open(tenant=tenant)
