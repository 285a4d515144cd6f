"""Each event type's `data`, built from the row the change made (catalog.py has the shapes)."""

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder


def _iso(value: Any) -> Any:
    return None if value is None else DjangoJSONEncoder().default(value)


def project_data(project: Any) -> dict[str, Any]:
    return {
        "id": project.pk,
        "name": project.name,
        "description": project.description,
        "archived": project.archived_at is not None,
        "created_at": _iso(project.created_at),
        "updated_at": _iso(project.updated_at),
    }


def task_data(task: Any) -> dict[str, Any]:
    return {
        "id": task.pk,
        "project_id": task.project_id,
        "title": task.title,
        "description": task.description,
        "status": task.status,
        "priority": int(task.priority),
        "due_date": _iso(task.due_date),
        "assignee": task.assignee_id,
        "archived": task.archived_at is not None,
        "created_at": _iso(task.created_at),
        "updated_at": _iso(task.updated_at),
    }


def member_data(membership: Any) -> dict[str, Any]:
    return {"user_id": membership.user_id, "email": membership.user.email, "role": membership.role}


def subscription_data(account: Any, *, plan: Any, price: Any) -> dict[str, Any]:
    """The billing account's subscription mirror; `plan` and `price` are given (an ended
    subscription is described with the plan it had, not the free plan that follows)."""
    scheduled = account.scheduled_price
    return {
        "id": account.stripe_subscription_id,
        "plan": plan.code,
        "price": price.lookup_key if price is not None else None,
        "unit_amount": price.amount if price is not None else None,
        "currency": price.currency if price is not None else None,
        "interval": price.interval if price is not None else None,
        "status": account.status,
        "seats": account.quantity,
        "current_period_start": _iso(account.current_period_start),
        "current_period_end": _iso(account.current_period_end),
        "trial_end": _iso(account.trial_end),
        "cancel_at_period_end": account.cancel_at_period_end,
        "scheduled_change": scheduled.lookup_key if scheduled is not None else None,
    }


def invoice_data(invoice: Any) -> dict[str, Any]:
    """The invoice mirror (billing.ledger), money in minor units with its currency."""
    return {
        "id": invoice.stripe_invoice_id,
        "subscription": invoice.stripe_subscription_id or None,
        "number": invoice.number,
        "status": invoice.status,
        "currency": invoice.currency,
        "subtotal": invoice.subtotal,
        "total": invoice.total,
        "amount_due": invoice.amount_due,
        "amount_paid": invoice.amount_paid,
        "amount_remaining": invoice.amount_remaining,
        "attempt_count": invoice.attempt_count,
        "next_payment_attempt": _iso(invoice.next_payment_attempt),
        "period_start": _iso(invoice.period_start),
        "period_end": _iso(invoice.period_end),
        "hosted_invoice_url": invoice.hosted_invoice_url,
        "invoice_pdf": invoice.invoice_pdf,
        "created": _iso(invoice.created),
    }
