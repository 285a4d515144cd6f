"""The organization's audit log entry for a change of its subscription: plan codes and price
lookup keys rather than row ids, since that is what a reader recognises."""

from typing import Any

from billing.models import BillingAccount, Plan, Price
from saas.audit.services import audit_changes, audit_entry_record, audit_values

AUDITED_FIELDS = ("plan_id", "price_id", "status", "cancel_at_period_end", "scheduled_price_id")
_NAMED = {
    "plan_id": ("plan", Plan, "code"),
    "price_id": ("price", Price, "lookup_key"),
    "scheduled_price_id": ("scheduled_price", Price, "lookup_key"),
}


def billing_account_values(account: BillingAccount) -> dict[str, Any]:
    """What to keep before changing the account, for `billing_account_changes_record`."""
    return audit_values(account, AUDITED_FIELDS)


def billing_account_changes_record(*, account: BillingAccount, before: dict[str, Any]) -> None:
    """`billing.subscription_changed` with what changed since `before`; nothing if nothing did."""
    changes = audit_changes(before, account)
    if not changes:
        return
    named = {}
    for field, change in changes.items():
        if field not in _NAMED:
            named[field] = change
            continue
        name, model, attr = _NAMED[field]
        ids = [v for v in (change["before"], change["after"]) if v is not None]
        labels = dict(model._default_manager.filter(pk__in=ids).values_list("pk", attr))
        named[name] = {side: labels.get(value) for side, value in change.items()}
    audit_entry_record(
        action="billing.subscription_changed",
        target_type="subscription",
        target_id=account.pk,
        changes=named,
        tenant=account.tenant,
    )
