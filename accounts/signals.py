"""Drop cached access after a membership or user change commits."""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .access import member_access_forget
from .models import Membership, User


@receiver([post_save, post_delete], sender=Membership)
def _membership_changed(sender: Any, instance: Membership, **kwargs: Any) -> None:
    user_id, tenant_id = instance.user_id, instance.tenant_id
    transaction.on_commit(lambda: member_access_forget(user_id=user_id, tenant_ids=[tenant_id]))


@receiver([post_save, post_delete], sender=User)
def _user_changed(sender: Any, instance: User, **kwargs: Any) -> None:
    user_id = instance.pk
    update_fields = kwargs.get("update_fields") or ()
    if kwargs.get("created") or set(update_fields) == {"last_login"}:
        return  # nothing cached can have changed

    def forget() -> None:
        tenant_ids = list(
            Membership.objects.filter(user_id=user_id).values_list("tenant_id", flat=True)
        )
        member_access_forget(user_id=user_id, tenant_ids=tenant_ids)

    transaction.on_commit(forget)
